# Load a Vagrantfile without Vagrant and print, as JSON, every setting it made: `ruby vagrant_recorder.rb FILE`.
# A stand-in `Vagrant.configure` hands the file a recorder that remembers setters, calls and blocks.
require "json"

class Recorder
  def initialize
    @settings = {}
  end

  def to_h
    @settings.transform_values { |value| plain(value) }
  end

  def method_missing(name, *args, **kwargs, &block)
    key = name.to_s
    return @settings[key.chomp("=")] = args.first if key.end_with?("=")
    return (@settings[key] ||= Recorder.new) if args.empty? && kwargs.empty? && block.nil?

    call = { "args" => args, "kwargs" => kwargs }
    if block
      inner = Recorder.new
      if block.arity == 2 # a provider block: |provider, override| (override: the config this provider changes)
        override = Recorder.new
        block.call(inner, override)
        call["override"] = override
      else
        block.call(inner)
      end
      call["config"] = inner
    end
    (@settings[key] ||= []) << call
    self
  end

  def respond_to_missing?(name, *)
    name.to_s != "to_ary" # a Recorder is no array to destructure
  end

  private

  def plain(value)
    case value
    when Recorder then value.to_h
    when Array then value.map { |item| plain(item) }
    when Hash then value.to_h { |k, v| [k.to_s, plain(v)] }
    when Symbol then value.to_s
    else value
    end
  end
end

module Vagrant
  def self.configure(_version)
    config = Recorder.new
    yield config
    puts JSON.generate(config.to_h)
  end
end

load ARGV.fetch(0)

# A torch whose import never returns (a driver call that blocks).
import time

time.sleep(600)

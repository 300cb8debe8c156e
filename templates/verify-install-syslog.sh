#!/bin/sh
# remaster verify --install, TEST ONLY: mirror the installer's syslog to the second serial port, where verify keeps
# it as evidence and reads what the installer did and where it stopped.
(tail -n +1 -f /var/log/syslog </dev/null >/dev/ttyS1 2>&1 &)

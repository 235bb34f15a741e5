"""What reports: the monitor and its indicators, status, the Nagios check, /metrics, the
alerts. Watchers read through the ports and the state; they change no data."""

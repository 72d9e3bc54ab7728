"""The service on top of the stages: the processor (one ordered list of steps), the monitor
(composition root and scheduler), coordination between processes."""

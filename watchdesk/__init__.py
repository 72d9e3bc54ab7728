"""The service on top of the stages: the processor and monitor (`watchdesk.service`), the
command line (`watchdesk.cli`) and the web page (`watchdesk.web`)."""

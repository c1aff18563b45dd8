"""Task names: what a producer puts in a message, without importing the tasks' code."""

SYNC_IMAGE = "imgsync.sync_image"
AGGREGATE_RUN = "imgsync.aggregate_run"
ON_RUN_ERROR = "imgsync.on_run_error"
REPORT_LOST_RUN = "imgsync.report_lost_run"
SCHEDULED_RUN = "imgsync.scheduled_run"

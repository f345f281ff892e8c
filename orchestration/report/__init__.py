"""The daily report (report.html): charts of the published marts, readable offline."""

# Dates and times in lists as the rest of the pages write them (2026-12-07 10:11), the way a
# team in China reads them in either language; Django's English default is American
# (12/07/2026 10:11 a.m.), which reads as July the 12th to most of the world.
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"

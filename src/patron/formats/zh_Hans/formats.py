# Business software in China groups amounts by thousands with a comma, as Excel shows them
# there (¥173,223); Django's default for zh-Hans leaves them ungrouped (173223). The other
# formats are Django's.
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3

"""Number and date formats where Patron departs from Django's for a language."""

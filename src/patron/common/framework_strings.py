"""Strings Django shows on Patron's pages that Django's own zh-Hans catalogue does not translate.

Django 6.1 labels the empty choice of a select "- Select an option -"; its catalogues have no
Chinese for it yet, so Chinese pages showed it in English. Named here, the string is kept in
Patron's catalogue by makemessages, and Patron's catalogue is read before Django's.
"""

from django.utils.translation import gettext_noop

STRINGS = (gettext_noop("- Select an option -"),)

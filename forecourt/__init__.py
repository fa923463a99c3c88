"""forecourt: dealer-CRM discipline inside the spreadsheets a small used-car dealer already uses."""

__version__ = "0.1.0"

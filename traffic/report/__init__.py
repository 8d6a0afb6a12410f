"""The traffic page: filters, figures over a range, changes, coverage and exports."""

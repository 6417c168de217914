"""Care (关心关爱): birthdays, the annual health check and other attentions to staff.

The modules here are the pure core of the domain: plain functions over plain data,
with no Flask, database or queue inside. Views and jobs load data, call them and
store the result.
"""

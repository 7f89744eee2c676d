"""The wildflag service: HTTP API, intake pipeline, status pages and the `wildflag` CLI.

A thin shell around `matching` (what a listing is) and `db` (what is stored): handlers
validate and translate, the intake pipeline is the one path from a submission to a case.
"""

"""The vikunja-aws local AWS stack: moto plus the pieces moto lacks, behind one endpoint."""

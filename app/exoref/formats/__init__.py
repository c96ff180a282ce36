"""Readers of the file formats ExoRef imports: PDF (PyMuPDF), BibTeX, RIS, CSL-JSON."""

"""Exporting media and profiles to object storage: windows, file formats, staged publishing, media files."""

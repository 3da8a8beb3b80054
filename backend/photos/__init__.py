"""Photos: uploads (whole file and tus), the media job, the store and who may see what."""

"""The .xlsx file as what it is: a zip package of XML parts, read and written part by part."""

"""What the CRM tables hold: fields, types and header aliases. Never imports a backend."""

"""The offline demo: a fixture news site on 127.0.0.1 and one full watchdesk cycle against it."""

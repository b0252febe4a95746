"""nestlab's services: the API and the workers, each deployable and scalable on its own."""

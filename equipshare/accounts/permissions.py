"""Permission predicates: pure can_<verb>(user, obj) -> bool."""

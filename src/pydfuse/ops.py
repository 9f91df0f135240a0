"""Public verbs over the host layer: flash, upload, erase, unprotect, leave, detach (layer: ops)."""

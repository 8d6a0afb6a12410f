from accounts.access import SESSION_STORE_KEY, user_stores


def current_store(request):
    """Add the user's stores and the last store they opened, for the store switcher."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    stores = user_stores(request).links
    slug = request.session.get(SESSION_STORE_KEY)
    current = next((store for store in stores if store.slug == slug), None)
    return {"user_stores": stores, "current_store": current}


def csp_nonce(request):
    """Expose django-csp's per-request nonce as csp_nonce, the name django-htmx's script tags read."""
    nonce = getattr(request, "csp_nonce", None)
    return {"csp_nonce": nonce} if nonce is not None else {}

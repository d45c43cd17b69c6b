"""Who is looking at a page: the sign-in JWT of ``POST /auth``, carried in a session cookie.

The cookie holds exactly the token the API hands out, so a session is checked by the API's own
``current_user`` (signature, expiry, user still enabled) and every page gets the same ``User``
with its tenant. The cookie is HttpOnly, SameSite=Lax, and Secure when the page is served over
HTTPS. Mutating forms also carry a CSRF token: a one-way hash of the session token, which a
page of another site can neither read nor compute, checked on every POST together with the
request's Origin when the browser sends one.
"""

import hashlib
import hmac
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials
from starlette.datastructures import FormData

from flowcdr.api.deps import ServicesDep, User, current_user
from flowcdr.api.errors import ApiError

COOKIE = "flowcdr_session"
CSRF_FIELD = "csrf_token"
SIGN_IN = "/portal/sign-in"


def csrf_token(session: str) -> str:
    return hashlib.sha256(b"flowcdr-portal-csrf\0" + session.encode()).hexdigest()


@dataclass(frozen=True)
class Viewer:
    """A signed-in person and the CSRF token their forms carry."""

    user: User
    csrf: str

    @property
    def is_admin(self) -> bool:
        return self.user.is_admin


def _sign_in_redirect(request: Request) -> HTTPException:
    """Back to the sign-in page, remembering where the person was going. htmx requests get
    HX-Redirect instead: a redirect would only swap the sign-in form into a panel."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = f"{SIGN_IN}?next={quote(target, safe='')}"
    if request.headers.get("HX-Request"):
        return HTTPException(401, "sign in first", headers={"HX-Redirect": location})
    return HTTPException(303, "sign in first", headers={"Location": location})


async def viewer(request: Request, found: ServicesDep) -> Viewer:
    token = request.cookies.get(COOKIE)
    if token:
        credentials = HTTPAuthorizationCredentials(scheme="Bearer", credentials=token)
        try:
            user = await current_user(found, credentials)
        except ApiError:
            raise _sign_in_redirect(request) from None
        return Viewer(user, csrf_token(token))
    raise _sign_in_redirect(request)


async def admin_viewer(seen: Annotated[Viewer, Depends(viewer)]) -> Viewer:
    if not seen.is_admin:
        raise HTTPException(403, "this action needs the admin role")
    return seen


def same_origin(request: Request) -> bool:
    """False when the browser says the request comes from another site's page. Hosts are
    compared, not schemes: behind a proxy that ends TLS the page is https and the request
    reaching us http, and a different site always has a different host."""
    origin = request.headers.get("Origin")
    if origin is None or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.url.netloc


async def checked_form(request: Request, seen: Viewer) -> FormData:
    """The posted form, once its CSRF token and origin are shown to be the session's own."""
    form = await request.form()
    given = form.get(CSRF_FIELD)
    if not isinstance(given, str) or not hmac.compare_digest(given, seen.csrf):
        raise HTTPException(403, "the form's CSRF token is missing or wrong; reload the page")
    if not same_origin(request):
        raise HTTPException(403, "cross-site form posts are refused")
    return form


def secure_cookie(request: Request) -> bool:
    return request.url.scheme == "https"


PortalViewer = Annotated[Viewer, Depends(viewer)]
PortalAdmin = Annotated[Viewer, Depends(admin_viewer)]

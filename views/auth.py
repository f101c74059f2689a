"""Sign-in, sessions and the regional guard of every page (``layers.accounts``, ``layers.access``).

``app.py`` calls :func:`gate` before anything else reads data: while an account exists and the
session is not signed in, only the sign-in form is drawn. Without accounts the dashboard runs
single-user, but only when Streamlit listens on this machine. :func:`before_sidebar` and
:func:`allows` then check the view's region against the session's scope, before and after the
sidebar moved it, so the URL, the sidebar, map clicks and links all pass the same check.
"""

from __future__ import annotations

import logging
import time

import streamlit as st

from geo.escape import escape_markdown
from layers import access
from layers.accounts import Accounts, Throttle, User, users_path
from layers.present import i18n
from layers.settings import session_hours
from views import loaders, state

__all__ = [
    "LOCAL_ADDRESSES",
    "THROTTLE",
    "USER_KEY",
    "accounts",
    "allows",
    "before_sidebar",
    "current_scope",
    "current_user",
    "gate",
    "scope_name",
    "sign_out",
]

log = logging.getLogger("onemap.auth")

USER_KEY = "auth_user"
_SEEN_KEY = "auth_seen"
_SCOPE_KEY = "auth_scope"
_PENDING_KEY = "auth_pending_region"
_NOTICE_KEY = "auth_notice"
#: addresses that serve only this machine (single-user mode is allowed there)
LOCAL_ADDRESSES: frozenset[str] = frozenset({"127.0.0.1", "localhost", "::1"})
#: failed sign-ins per user name, shared by every session of this server process
THROTTLE = Throttle()


def accounts() -> Accounts:
    """The accounts file of this dashboard (``$ONEMAP_USERS``, else next to the store)."""
    return Accounts(users_path(store=loaders.store_file()))


def current_user() -> User | None:
    """The signed-in account of this session (None: not signed in, or single-user mode)."""
    user = st.session_state.get(USER_KEY)
    return user if isinstance(user, User) else None


def current_scope() -> access.Scope:
    """The scope :func:`gate` granted this run (pages call this for reads and writes)."""
    scope = st.session_state.get(_SCOPE_KEY)
    if not isinstance(scope, access.Scope):
        st.stop()  # gate() did not grant anything this run: draw nothing
    return scope


def scope_name(scope: access.Scope, lang: str = "zh") -> str:
    """The scope's region as a name (the province's name for everything), Markdown-escaped:
    it goes into messages, captions and button labels."""
    if scope.everything:
        return i18n.t("province", lang)
    return escape_markdown(loaders.unit_name(scope.region, lang))


def sign_out() -> None:
    """Forget the session's account (the 退出 button's callback)."""
    user = current_user()
    if user is not None:
        log.info("sign-out: %r", user.name)
    for key in (USER_KEY, _SEEN_KEY, _SCOPE_KEY):
        st.session_state.pop(key, None)


def _try_sign_in(book: Accounts, name: str, password: str, lang: str) -> None:
    """Check one sign-in (slowed down after failures of the same name) and log the outcome."""
    time.sleep(THROTTLE.delay(name))
    user = book.verify(name, password)
    if user is None:
        n = THROTTLE.failed(name)
        log.warning("failed sign-in for user name %r (%d in a row)", name, n)
        st.error(i18n.t("signin_failed", lang))
        return
    THROTTLE.succeeded(name)
    log.info("sign-in: %r (%s %s)", user.name, user.role, user.region or "")
    st.session_state[USER_KEY] = user
    st.session_state[_SEEN_KEY] = time.time()
    st.rerun()


def _sign_in_form(book: Accounts, lang: str) -> None:
    """The only thing an anonymous visitor sees."""
    st.title(i18n.t("signin_title", lang))
    st.caption(i18n.t("signin_intro", lang))
    with st.form("signin_form"):
        name = st.text_input(i18n.t("username", lang), key="signin_name", max_chars=64)
        password = st.text_input(
            i18n.t("password", lang), type="password", key="signin_password", max_chars=256
        )
        submitted = st.form_submit_button(i18n.t("signin", lang), type="primary")
    if submitted:
        if not name.strip() or not password:
            st.warning(i18n.t("signin_missing", lang))
        else:
            _try_sign_in(book, name.strip(), password, lang)


def _session_user(book: Accounts, lang: str) -> User | None:
    """The session's account if it is still valid (not expired, not removed or changed)."""
    user = current_user()
    if user is None:
        return None
    hours = session_hours()
    if time.time() - float(st.session_state.get(_SEEN_KEY, 0.0)) > hours * 3600:
        log.info("session expired: %r", user.name)
        sign_out()
        st.info(i18n.t("session_expired", lang, hours=f"{hours:g}"))
        return None
    fresh = book.get(user.name)
    if fresh is None or (fresh.role, fresh.region) != (user.role, user.region):
        sign_out()  # removed or changed since sign-in: sign in again
        return None
    st.session_state[_SEEN_KEY] = time.time()
    return fresh


def _user_box(user: User, lang: str) -> None:
    scope = access.scope_of(user)
    region = "" if scope.everything else f" · {scope_name(scope, lang)}"
    with st.sidebar:
        st.caption(
            i18n.t(
                "signed_in_as",
                lang,
                name=user.name,
                role=i18n.t(f"role_{user.role}", lang),
                region=region,
            )
        )
        st.button(i18n.t("signout", lang), key="signout", on_click=sign_out)


def gate(lang: str = "zh") -> access.Scope | None:
    """Decide whether this run may read data: the session's scope, or None (nothing more to draw).

    Without accounts: the full scope on a local address (single-user mode, said in the sidebar),
    else None with how to add the first account. With accounts: the signed-in account's scope,
    else None with the sign-in form.
    """
    st.session_state.pop(_SCOPE_KEY, None)
    book = accounts()
    if not book.exists():
        address = str(st.get_option("server.address") or "")
        if address not in LOCAL_ADDRESSES:
            st.error(i18n.t("no_accounts_remote", lang, address=address or "0.0.0.0"))
            return None
        with st.sidebar:
            st.caption(i18n.t("single_user", lang))
        scope = access.FULL
    else:
        user = _session_user(book, lang)
        if user is None:
            _sign_in_form(book, lang)
            return None
        _user_box(user, lang)
        scope = access.scope_of(user)
    st.session_state[_SCOPE_KEY] = scope
    return scope


def before_sidebar(scope: access.Scope, page: str) -> None:
    """Move the view into the scope before the sidebar draws it (a detail page opened above the
    scope shows the scope's region; a region the last run narrowed is applied here)."""
    pending = st.session_state.pop(_PENDING_KEY, None)
    if pending:
        state.set_region(pending)
        return
    view = state.current_view(page=page)
    decision = access.check_page(scope, page, view.region)
    if decision.allowed and decision.region != view.region:
        state.set_region(decision.region)
        st.session_state[_NOTICE_KEY] = decision.reason


def allows(scope: access.Scope, view: state.ViewState) -> bool:
    """Check the view the sidebar produced; draw the refusal (or the narrowing notice).

    Returns True when the page may run for ``view``; False after a clear message (and a button
    back to the scope's region) when it may not: nothing of the region is sent.
    """
    lang = view.lang
    decision = access.check_page(scope, view.page, view.region)
    name = scope_name(scope, lang)
    if not decision.allowed:
        # the code as asked, not its name: names below the scope are details too
        st.error(i18n.t(decision.reason or "scope_refused", lang, scope=name, region=view.region))
        if decision.reason != "scope_no_write":
            st.button(
                i18n.t("scope_back", lang, scope=name),
                key="scope_back",
                on_click=state.set_region,
                args=(scope.region,),
            )
        return False
    if decision.region != view.region:  # the sidebar moved above the scope: narrow and redraw
        st.session_state[_PENDING_KEY] = decision.region
        st.session_state[_NOTICE_KEY] = decision.reason
        st.rerun()
    notice = st.session_state.pop(_NOTICE_KEY, None)
    if notice:
        st.info(i18n.t(notice, lang, scope=name))
    return True

import ssl

from pyVmomi import vim, vmodl

from shared.vsphere.errors import (
    LoginRefused,
    PermanentError,
    TransientError,
    describe,
    translate,
)


def test_login_refused_is_permanent_and_readable():
    error = translate(vim.fault.InvalidLogin(), "log in to vc:443")
    assert isinstance(error, LoginRefused) and isinstance(error, PermanentError)
    assert str(error) == "log in to vc:443: vCenter refused the login (wrong username or password)"


def test_session_and_connection_faults_are_transient():
    for fault in (vim.fault.NotAuthenticated(), vmodl.fault.HostCommunication(),
                  ConnectionResetError(), TimeoutError(), ConnectionRefusedError()):
        assert isinstance(translate(fault, "x"), TransientError), fault


def test_other_faults_are_permanent_and_named_by_type():
    error = translate(vim.fault.DuplicateName(msg=""), "create portgroup 'p'")
    assert isinstance(error, PermanentError)
    assert "DuplicateName" in str(error)


def test_untrusted_certificate_says_what_to_do():
    exc = ssl.SSLCertVerificationError("bad")
    exc.verify_message = "self-signed certificate"
    error = translate(exc, "log in")
    assert isinstance(error, PermanentError)
    assert "thumbprint" in str(error) and "verify_tls" in str(error)


def test_describe_skips_messages_that_only_repeat_the_type():
    assert describe(vim.fault.InvalidPowerState(msg="")) == "InvalidPowerState"
    assert describe(vim.fault.InvalidPowerState(msg="VM is on")) == "InvalidPowerState: VM is on"

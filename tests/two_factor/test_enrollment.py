"""The full login-enroll-verify-login cycle, the enrollment payload and token rotation."""

import base64
import io
import re
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, unquote, urlparse

import zxingcpp
from PIL import Image, ImageDraw

from gql_portal.settings import get_settings
from gql_portal.two_factor.models import TotpAuthenticator, TotpEnrollment
from tests.factories import code_for, make_domain, make_user, secret_from_uri
from tests.graphql import GraphQLClient
from tests.two_factor.helpers import (
    BEGIN,
    CONFIRM,
    LOGOUT,
    ME,
    VERIFY,
    VERIFY_RECOVERY,
    align_to_step_start,
    begin,
    enroll,
    enrolled_user,
    login,
    me,
    pending_totp_token,
    verify,
)


async def test_full_cycle_login_enroll_logout_login_verify(client: GraphQLClient) -> None:
    align_to_step_start()
    domain = await make_domain(two_factor=True)
    user = await make_user(domain, two_factor_enabled=True)

    first = await login(client, user.email)
    assert first["status"] == "ENROLLMENT_REQUIRED"
    assert first["recoveryCodes"] is None
    pending = first["token"]
    assert (await me(client, pending)).ok()["me"]["twoFactor"]["state"] == "PENDING_ENROLLMENT"

    enrollment = await begin(client, pending)
    secret = secret_from_uri(enrollment["otpauthUri"])
    assert secret == enrollment["secret"]
    confirmed = (await client.execute(CONFIRM, {"code": code_for(secret)}, token=pending)).ok()[
        "confirmTotpEnrollment"
    ]
    assert confirmed["status"] == "AUTHENTICATED"
    assert confirmed["token"] != pending
    codes = confirmed["recoveryCodes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert (await me(client, pending)).code == "UNAUTHENTICATED"
    full = confirmed["token"]
    state = (await me(client, full)).ok()["me"]["twoFactor"]
    assert state["state"] == "ENROLLED" and state["enrolled"] is True
    assert state["recoveryCodesRemaining"] == 10
    assert (await client.execute("{ users { edges { node { id } } } }", token=full)).code == (
        "FORBIDDEN"
    )  # a plain USER is fully signed in: the role check answers, not the gate

    assert (await client.execute(LOGOUT, token=full)).ok()["logout"] is True
    assert (await me(client, full)).code == "UNAUTHENTICATED"

    second = await pending_totp_token(client, user.email)
    verified = (await verify(client, second, code_for(secret, steps_ahead=1))).ok()["verifyTotp"]
    assert verified["status"] == "AUTHENTICATED"
    assert verified["recoveryCodes"] is None
    assert (await me(client, second)).code == "UNAUTHENTICATED"
    assert (await me(client, verified["token"])).ok()["me"]["id"] == str(user.id)


async def test_otpauth_uri_follows_the_key_uri_format(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=True)
    user = await make_user(domain, two_factor_enabled=True)
    enrollment = await begin(client, (await login(client, user.email))["token"])
    uri = urlparse(enrollment["otpauthUri"])
    issuer = get_settings().totp_issuer
    assert uri.scheme == "otpauth" and uri.netloc == "totp"
    assert unquote(uri.path) == f"/{issuer}:{user.email}"
    query = parse_qs(uri.query)
    assert query["secret"] == [enrollment["secret"]]
    assert query["issuer"] == [issuer]
    assert query.get("algorithm", ["SHA1"]) == ["SHA1"]
    assert query.get("digits", ["6"]) == ["6"]
    assert query.get("period", ["30"]) == ["30"]
    assert re.fullmatch(r"[A-Z2-7]{32}", enrollment["secret"])


def _data_uri_bytes(uri: str, mime: str) -> bytes:
    header, _, payload = uri.partition(",")
    assert header.startswith(f"data:{mime}"), header
    return base64.b64decode(payload) if header.endswith(";base64") else unquote(payload).encode()


async def test_png_qr_is_a_regular_qr_code_of_the_uri(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=True)
    user = await make_user(domain, two_factor_enabled=True)
    enrollment = await begin(client, (await login(client, user.email))["token"])
    image = Image.open(io.BytesIO(_data_uri_bytes(enrollment["qrCodePng"], "image/png")))
    found = zxingcpp.read_barcodes(image.convert("L"))
    assert len(found) == 1
    assert found[0].format == zxingcpp.BarcodeFormat.QRCode
    assert found[0].text == enrollment["otpauthUri"]


def _rasterise_segno_svg(svg: str) -> Image.Image:
    """segno draws one path of horizontal strokes (M/m moves, h lines) in module units."""
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    path = next(el for el in root.iter() if el.tag.endswith("path"))
    scale = float(re.search(r"scale\(([\d.]+)\)", path.get("transform", "scale(1)")).group(1))  # type: ignore[union-attr]
    size = round(float(root.get("width", "0")) / scale)
    pixels = 8
    image = Image.new("L", (size * pixels, size * pixels), 255)
    draw = ImageDraw.Draw(image)
    x = y = 0.0
    for command, numbers in re.findall(r"([MmHh])([-\d.\s]+)", path.get("d", "")):
        values = [float(v) for v in numbers.split()]
        if command == "M":
            x, y = values
        elif command == "m":
            x, y = x + values[0], y + values[1]
        else:
            end = values[0] if command == "H" else x + values[0]
            row = int(y - 0.5)
            draw.rectangle(
                (x * pixels, row * pixels, end * pixels - 1, (row + 1) * pixels - 1), fill=0
            )
            x = end
    return image


async def test_svg_qr_is_an_svg_data_uri_of_the_same_code(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=True)
    user = await make_user(domain, two_factor_enabled=True)
    enrollment = await begin(client, (await login(client, user.email))["token"])
    svg = _data_uri_bytes(enrollment["qrCodeSvg"], "image/svg+xml").decode()
    found = zxingcpp.read_barcodes(_rasterise_segno_svg(svg))
    assert len(found) == 1
    assert found[0].format == zxingcpp.BarcodeFormat.QRCode
    assert found[0].text == enrollment["otpauthUri"]


async def test_begin_again_replaces_the_unconfirmed_secret(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=True)
    user = await make_user(domain, two_factor_enabled=True)
    token = (await login(client, user.email))["token"]
    first = secret_from_uri((await begin(client, token))["otpauthUri"])
    second = secret_from_uri((await begin(client, token))["otpauthUri"])
    assert first != second
    assert await TotpEnrollment.filter(user_id=user.id).count() == 1
    stale = await client.execute(CONFIRM, {"code": code_for(first)}, token=token)
    if code_for(first) != code_for(second):
        assert stale.code == "INVALID_CODE"
    confirmed = await client.execute(CONFIRM, {"code": code_for(second)}, token=token)
    assert confirmed.ok()["confirmTotpEnrollment"]["status"] == "AUTHENTICATED"


async def test_secret_is_never_shown_again_once_enrolled(client: GraphQLClient) -> None:
    align_to_step_start()
    domain = await make_domain(two_factor=True)
    user, enrolled = await enrolled_user(client, domain)
    again = await client.execute(BEGIN, token=enrolled.token)
    assert again.codes and again.body["data"] is None
    pending = await pending_totp_token(client, user.email)
    assert (await client.execute(BEGIN, token=pending)).codes
    assert await TotpEnrollment.filter(user_id=user.id).count() == 0
    assert await TotpAuthenticator.filter(user_id=user.id).count() == 1
    assert enrolled.secret not in str((await me(client, enrolled.token)).body)


async def test_confirm_without_begin_or_with_a_wrong_code(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=True)
    user = await make_user(domain, two_factor_enabled=True)
    token = (await login(client, user.email))["token"]
    assert (await client.execute(CONFIRM, {"code": "123456"}, token=token)).code == "BAD_USER_INPUT"
    secret = secret_from_uri((await begin(client, token))["otpauthUri"])
    right = code_for(secret)
    wrong = "000000" if right != "000000" else "111111"
    assert (await client.execute(CONFIRM, {"code": wrong}, token=token)).code == "INVALID_CODE"
    assert (await me(client, token)).ok()["me"]["twoFactor"]["state"] == "PENDING_ENROLLMENT"
    assert await TotpAuthenticator.filter(user_id=user.id).count() == 0


async def test_each_exchange_kills_the_presented_token(client: GraphQLClient) -> None:
    align_to_step_start()
    domain = await make_domain(two_factor=True)
    user = await make_user(domain, two_factor_enabled=True)
    pending = (await login(client, user.email))["token"]
    secret = secret_from_uri((await begin(client, pending))["otpauthUri"])
    confirmed = await client.execute(CONFIRM, {"code": code_for(secret)}, token=pending)
    codes = confirmed.ok()["confirmTotpEnrollment"]["recoveryCodes"]
    assert (await me(client, pending)).code == "UNAUTHENTICATED"
    assert (await client.execute(BEGIN, token=pending)).code == "UNAUTHENTICATED"

    pending = await pending_totp_token(client, user.email)
    new = (await verify(client, pending, code_for(secret, steps_ahead=1))).ok()["verifyTotp"]
    assert new["token"] != pending
    assert (await me(client, pending)).code == "UNAUTHENTICATED"
    assert (
        await verify(client, pending, code_for(secret, steps_ahead=1))
    ).code == "UNAUTHENTICATED"

    pending = await pending_totp_token(client, user.email)
    used = await client.execute(VERIFY_RECOVERY, {"code": codes[0]}, token=pending)
    payload = used.ok()["verifyRecoveryCode"]
    assert payload["status"] == "AUTHENTICATED" and payload["token"] != pending
    assert (await me(client, pending)).code == "UNAUTHENTICATED"
    assert (await client.execute(ME, token=payload["token"])).ok()["me"]["twoFactor"][
        "recoveryCodesRemaining"
    ] == 9


async def test_recovery_code_is_single_use_and_forgiving_of_case_and_hyphens(
    client: GraphQLClient,
) -> None:
    domain = await make_domain(two_factor=True)
    user, enrolled = await enrolled_user(client, domain)
    code = enrolled.recovery_codes[3]
    pending = await pending_totp_token(client, user.email)
    typed = code.replace("-", " ").upper()
    assert (await client.execute(VERIFY_RECOVERY, {"code": typed}, token=pending)).ok()
    pending = await pending_totp_token(client, user.email)
    again = await client.execute(VERIFY_RECOVERY, {"code": code}, token=pending)
    assert again.code == "INVALID_CODE"


async def test_verify_on_a_full_session_is_refused(client: GraphQLClient) -> None:
    align_to_step_start()
    domain = await make_domain(two_factor=True)
    _, enrolled = await enrolled_user(client, domain)
    result = await verify(client, enrolled.token, code_for(enrolled.secret, steps_ahead=1))
    assert result.code == "BAD_USER_INPUT"
    # Authentication is checked first, even before the shape of the code.
    assert (await client.execute(VERIFY, {"code": "12345"})).code == "UNAUTHENTICATED"
    assert (await me(client, enrolled.token)).ok()


async def test_enroll_helper_round_trip(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=True)
    user = await make_user(domain, two_factor_enabled=True)
    enrolled = await enroll(client, user.email)
    assert (await me(client, enrolled.token)).ok()["me"]["twoFactor"]["enrolledAt"]

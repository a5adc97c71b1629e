"""The README's first session works as written, against the seeded demo domain."""

import re
from pathlib import Path

from gql_portal.demo import DEMO_PASSWORD, seed_demo
from tests.graphql import GraphQLClient

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def _graphql_blocks() -> list[str]:
    return re.findall(r"```graphql\n(.*?)```", README, flags=re.DOTALL)


def test_readme_starts_with_the_two_commands() -> None:
    first_block = re.search(r"```sh\n(.*?)```", README, flags=re.DOTALL)
    assert first_block is not None
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines()]
    assert commands[:2] == ["make run", "make test"]


async def test_readme_example_session_works(client: GraphQLClient) -> None:
    await seed_demo(out=lambda line: None)
    login_block, me_block = _graphql_blocks()[:2]
    assert DEMO_PASSWORD in login_block
    login = (await client.execute(login_block)).ok()["login"]
    assert login["status"] == "AUTHENTICATED"
    me = (await client.execute(me_block, token=login["token"])).ok()["me"]
    assert me["email"] == "secadmin@demo.example"
    assert me["domain"]["passwordSecurityRules"]["twoFactorEnabled"] is True


def test_readme_images_exist() -> None:
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README)
    assert images, "the README shows the portal"
    root = Path(__file__).resolve().parents[1]
    assert [image for image in images if not (root / image).is_file()] == []

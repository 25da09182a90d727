import pytest

from aidial_portal.mfa.policy import (
    ROLE_REQUIREMENTS,
    Requirement,
    parse_table,
    requirement_for,
    role_table,
    split_roles,
)


@pytest.mark.parametrize(
    ("role", "requirement"),
    [
        ("partner_admin", Requirement.REQUIRED),
        ("aidial_admin", Requirement.REQUIRED),
        ("aidial_operator", Requirement.REQUIRED),
        ("client_admin", Requirement.OPTIONAL),
        ("client_manager", Requirement.OPTIONAL),
        ("client_staff", Requirement.OPTIONAL),
        ("partner_user", Requirement.OPTIONAL),
    ],
)
def test_role_table_matches_the_user_guide(role, requirement):
    assert requirement_for([role], ROLE_REQUIREMENTS) is requirement


def test_the_table_has_exactly_the_seven_portal_roles():
    assert len(ROLE_REQUIREMENTS) == 7


def test_strictest_requirement_wins_when_several_roles_are_held():
    assert requirement_for(["client_staff", "aidial_operator"], ROLE_REQUIREMENTS) is (
        Requirement.REQUIRED
    )


def test_unknown_roles_are_ignored_not_granted():
    assert requirement_for(["superuser", "client_staff"], ROLE_REQUIREMENTS) is (
        Requirement.OPTIONAL
    )


def test_no_portal_role_gives_no_requirement():
    assert requirement_for(["superuser"], ROLE_REQUIREMENTS) is None
    assert requirement_for([], ROLE_REQUIREMENTS) is None


def test_split_roles_separates_known_from_unknown_and_deduplicates():
    held = split_roles(["client_staff", "x", "client_staff"], ROLE_REQUIREMENTS)
    assert held.known == ("client_staff",)
    assert held.unknown == ("x",)


def test_override_table_rejects_an_unknown_requirement():
    assert parse_table({"client_admin": "required"})["client_admin"] is Requirement.REQUIRED
    with pytest.raises(ValueError, match="sometimes"):
        parse_table({"client_admin": "sometimes"})


def test_table_cannot_be_changed_at_run_time():
    with pytest.raises(TypeError):
        ROLE_REQUIREMENTS["partner_admin"] = Requirement.OPTIONAL  # type: ignore[index]


def test_a_deployment_override_adds_and_changes_rows_and_keeps_the_rest():
    table = role_table({"client_admin": "required", "auditor": "optional"})
    assert table["client_admin"] is Requirement.REQUIRED
    assert table["auditor"] is Requirement.OPTIONAL
    assert table["partner_admin"] is Requirement.REQUIRED
    assert ROLE_REQUIREMENTS["client_admin"] is Requirement.OPTIONAL

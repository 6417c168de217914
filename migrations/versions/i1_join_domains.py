"""join care overtime, talks indexes and set-password links into one head

Revision ID: i1_join_domains
Revises: h1_care_overtime, h4_talks_indexes, h5_auth_reset
"""

revision = "i1_join_domains"
down_revision = ("h1_care_overtime", "h4_talks_indexes", "h5_auth_reset")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass

"""join the domain branches (leave, care, talks, rotation) into one head

Revision ID: f1_join_domains
Revises: b1_leave, c1_care, d1_talks, e1_rotation
"""

revision = "f1_join_domains"
down_revision = ("b1_leave", "c1_care", "d1_talks", "e1_rotation")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass

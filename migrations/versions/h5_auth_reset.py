"""auth: the state of set-password links (re-sent welcome links, self-service password reset)

Revision ID: h5_auth_reset
Revises: g1_digest
"""
from alembic import op
import sqlalchemy as sa

revision = "h5_auth_reset"
down_revision = "g1_digest"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "password_link",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_to", sa.String(length=254), nullable=True),
        sa.Column("reset_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], name=op.f("fk_password_link_person_id_person"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_password_link")),
    )


def downgrade():
    op.drop_table("password_link")

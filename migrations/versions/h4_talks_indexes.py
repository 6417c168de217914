"""talks: indexes for the leader dashboard and a leader's own talks (issue 3, performance)

Revision ID: h4_talks_indexes
Revises: g1_digest
"""
from alembic import op

revision = "h4_talks_indexes"
down_revision = "g1_digest"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("talk", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_talk_held_at"), ["held_at"], unique=False)
    with op.batch_alter_table("talk_participant", schema=None) as batch_op:
        batch_op.create_index("ix_talk_participant_person_role_talk", ["person_id", "role", "talk_id"], unique=False)


def downgrade():
    with op.batch_alter_table("talk_participant", schema=None) as batch_op:
        batch_op.drop_index("ix_talk_participant_person_role_talk")
    with op.batch_alter_table("talk", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_talk_held_at"))

"""EC2 tables. The instances table is read by the metadata service, the credential minter and the
dashboard, so its column names are a contract: add columns, never rename them."""

from __future__ import annotations

import sqlite_utils

from eucalite.store import migrations


def _m020_ec2(db: sqlite_utils.Database) -> None:
    db.table("images").create(
        {"id": str, "account_id": str, "name": str, "kind": str, "kernel_id": str, "ramdisk_id": str,
         "path": str, "disk_path": str, "state": str, "public": int, "description": str, "created": str,
         "architecture": str, "location": str, "kernel_cmdline": str},
        pk="id",
    )
    db.table("images").create_index(["account_id"])
    db.table("image_launch_permissions").create({"image_id": str, "account_id": str}, pk=("image_id", "account_id"))
    db.table("instances").create(
        {"id": str, "reservation_id": str, "account_id": str, "owner_user_arn": str, "image_id": str,
         "kernel_id": str, "ramdisk_id": str, "instance_type": str, "key_name": str, "state": str,
         "state_reason": str, "zone": str, "node": str, "launch_time": str, "terminated_at": str,
         "user_data": str, "client_token": str, "profile_arn": str, "profile_id": str, "association_id": str,
         "metadata_http_tokens": str, "metadata_http_endpoint": str, "metadata_hop_limit": int,
         "private_ip": str, "mac": str, "security_groups": str, "ami_launch_index": int, "metadata_port": int,
         "ssh_port": int, "transition_reason": str},
        pk="id",
    )
    db.table("instances").create_index(["account_id", "state"])
    db.table("instances").create_index(["account_id", "client_token"])
    db.table("instances").create_index(["association_id"])
    db.table("tags").create({"resource_id": str, "resource_type": str, "account_id": str, "key": str, "value": str},
                      pk=("resource_id", "key"))
    db.table("tags").create_index(["account_id"])
    db.table("key_pairs").create(
        {"id": str, "account_id": str, "name": str, "key_type": str, "public_key": str, "fingerprint": str,
         "created": str},
        pk="id",
    )
    db.table("key_pairs").create_index(["account_id", "name"], unique=True)
    db.table("security_groups").create(
        {"id": str, "account_id": str, "name": str, "description": str, "created": str}, pk="id")
    db.table("security_groups").create_index(["account_id", "name"], unique=True)
    db.table("security_group_rules").create(
        {"id": str, "group_id": str, "protocol": str, "from_port": int, "to_port": int, "cidr": str,
         "source_group_id": str, "source_account": str},
        pk="id",
    )
    db.table("security_group_rules").create_index(
        ["group_id", "protocol", "from_port", "to_port", "cidr", "source_group_id"], unique=True)


def _m021_client_token_digest(db: sqlite_utils.Database) -> None:
    # What a ClientToken was first used with, so a retry with other arguments can be told apart.
    db.table("instances").add_column("client_token_digest", str)


migrations.register("020_ec2", _m020_ec2)
migrations.register("021_client_token_digest", _m021_client_token_digest)

EC2_TABLES = ("instances", "tags", "key_pairs", "security_groups", "images")


def delete_account_rows(db: sqlite_utils.Database, account_id: str) -> None:
    """Account deletion (IAM DeleteAccount with Recursive) takes the account's EC2 records along."""
    db.execute("delete from security_group_rules where group_id in "
               "(select id from security_groups where account_id = ?) or source_account = ?",
               [account_id, account_id])
    db.execute("delete from image_launch_permissions where image_id in "
               "(select id from images where account_id = ?) or account_id = ?", [account_id, account_id])
    for table in EC2_TABLES:
        db.execute(f"delete from {table} where account_id = ?", [account_id])

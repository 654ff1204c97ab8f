"""Images: machine (emi-), kernel (eki-) and ramdisk (eri-) images, launch permissions, registration.

An account sees its own images, public ones (launch permission group `all`) and those shared with it.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

from eucalite import ids
from eucalite.errors import ServiceError
from eucalite.nodes.base import BootImage
from eucalite.services.context import CallContext
from eucalite.services.ec2.common import image_arn, now, page, tag_specs, well_formed
from eucalite.services.ec2.filters import apply_filters
from eucalite.services.ec2.tags import put_tags, tag_list, tags_of
from eucalite.services.registry import operation
from eucalite.store.db import Store

KINDS = {"emi": "machine", "eki": "kernel", "eri": "ramdisk"}
PREFIX = {v: k for k, v in KINDS.items()}
IMAGE_PREFIXES = ("emi", "eki", "eri", "ami", "aki", "ari")


def _visible_sql() -> str:
    return ("select * from images where account_id = ? or public = 1 or id in "
            "(select image_id from image_launch_permissions where account_id = ?)")


def visible(store: Store, account_id: str) -> list[dict[str, Any]]:
    return store.all(_visible_sql() + " order by created, id", [account_id, account_id])


def find_visible(store: Store, account_id: str, image_id: str) -> dict[str, Any] | None:
    return store.one(f"select * from ({_visible_sql()}) where id = ?", [account_id, account_id, image_id])


def not_found(image_id: str) -> ServiceError:
    if not well_formed(image_id, IMAGE_PREFIXES):
        return ServiceError("InvalidAMIID.Malformed", f'Invalid id: "{image_id}" (expecting "emi-...")')
    return ServiceError("InvalidAMIID.NotFound", f"The image id '[{image_id}]' does not exist")


def launchable(ctx: CallContext, image_id: str) -> dict[str, Any]:
    """The image a launch uses. Unregistered ids are refused unless the cloud accepts them (moto-style)."""
    row = find_visible(ctx.cloud.store, ctx.account_id, image_id)
    if row is not None:
        if row["kind"] != "machine":
            raise ServiceError("InvalidParameterValue", f"The image {image_id} is a {row['kind']} image, "
                               "not a machine image")
        return row
    if ctx.cloud.settings.accept_unregistered_images and well_formed(image_id, IMAGE_PREFIXES):
        return {"id": image_id, "kind": "machine", "kernel_id": None, "ramdisk_id": None, "path": None,
                "disk_path": None, "kernel_cmdline": "", "account_id": ctx.account_id}
    raise not_found(image_id)


def boot_image(store: Store, image: dict[str, Any], kernel_id: str | None, ramdisk_id: str | None) -> BootImage:
    def path_of(iid: str | None) -> Path | None:
        row = store.one("select path from images where id = ?", [iid]) if iid else None
        return Path(row["path"]) if row and row["path"] else None

    disk = image.get("disk_path")
    return BootImage(kernel=path_of(kernel_id), ramdisk=path_of(ramdisk_id), disk=Path(disk) if disk else None,
                     kernel_cmdline=image.get("kernel_cmdline") or "")


def check_part(ctx: CallContext, image_id: str | None, kind: str) -> None:
    if not image_id:
        return
    row = find_visible(ctx.cloud.store, ctx.account_id, image_id)
    if row is None:
        raise not_found(image_id)
    if row["kind"] != kind:
        raise ServiceError("InvalidParameterValue", f"{image_id} is not a {kind} image")


def check_name(name: str) -> None:
    """RegisterImage's own checks of Name (the EC2 model's: 3 to 128 characters), for registrations that
    do not come through the API (`eucalite image import` and `image build`): the same InvalidParameterValue."""
    from eucalite.wire.parse import parse_params
    from eucalite.wire.specs import service

    operation = service("ec2").operation("RegisterImage")
    assert operation is not None
    parse_params(operation, "ec2", {"Name": name})
    check_name_characters(name)


# AWS: 3-128 letters, numbers, parentheses, square brackets, spaces, periods, slashes, dashes, single
# quotes, at-signs and underscores.
_AMI_NAME = re.compile(r"[A-Za-z0-9()\[\] ./\-'@_]{3,128}")


def check_name_characters(name: str) -> None:
    if not _AMI_NAME.fullmatch(name):
        raise ServiceError("InvalidAMIName.Malformed", "AMI names must be between 3 and 128 characters long, and "
                           "may contain letters, numbers, '(', ')', '.', '-', '/' and '_'")


def name_in_use(store: Store, account_id: str, name: str, kinds: tuple[str, ...]) -> None:
    """InvalidAMIName.Duplicate, naming the image that has the name (of the first of ``kinds`` that does)."""
    for kind in kinds:
        row = store.one("select id from images where account_id = ? and name = ? and kind = ?",
                        [account_id, name, kind])
        if row:
            raise ServiceError("InvalidAMIName.Duplicate", f"AMI name {name} is already in use by AMI {row['id']}")


def insert_image(store: Store, account_id: str, kind: str, name: str, created: str, *, path: str | None = None,
                 disk_path: str | None = None, kernel_id: str | None = None, ramdisk_id: str | None = None,
                 public: bool = False, description: str = "", location: str = "", image_id: str | None = None,
                 kernel_cmdline: str = "", architecture: str = "x86_64") -> dict[str, Any]:
    row = {"id": image_id or ids.resource_id(PREFIX[kind]), "account_id": account_id, "name": name, "kind": kind,
           "kernel_id": kernel_id, "ramdisk_id": ramdisk_id, "path": path, "disk_path": disk_path,
           "state": "available", "public": int(public), "description": description, "created": created,
           "architecture": architecture, "location": location or name, "kernel_cmdline": kernel_cmdline}
    with store.transaction() as db:
        name_in_use(store, account_id, name, (kind,))
        db.table("images").insert(row)
    return row


def import_files(store: Store, images_dir: Path, account_id: str, name: str, kernel: Path, ramdisk: Path,
                 disk: Path | None, created: str, public: bool = True, cmdline: str = "",
                 link: bool = False) -> list[dict[str, Any]]:
    """Copy boot files into DATA_DIR/images/<id>/ and register kernel, ramdisk and machine images.

    link: hard link instead when on the same filesystem (for sources that are never rewritten in
    place, like `eucalite image build`'s cache; a gigabyte base disk then costs nothing per data dir).
    """
    check_name(name)
    out: list[dict[str, Any]] = []
    eki, eri, emi = ids.resource_id("eki"), ids.resource_id("eri"), ids.resource_id("emi")
    copied: list[Path] = []
    try:
        def place(image_id: str, src: Path) -> str:
            dest_dir = images_dir / image_id
            dest_dir.mkdir(parents=True, exist_ok=True)
            copied.append(dest_dir)
            dest = dest_dir / src.name
            try:
                if not link:
                    raise OSError("copy requested")
                os.link(src, dest)
            except OSError:
                shutil.copyfile(src, dest)
            return str(dest.resolve())

        with store.transaction():
            # The three share the name; a clash names the machine image (emi-) first, as AWS would.
            name_in_use(store, account_id, name, ("machine", "kernel", "ramdisk"))
            out.append(insert_image(store, account_id, "kernel", name, created, path=place(eki, kernel),
                                    public=public, image_id=eki, location=f"{name}/{kernel.name}"))
            out.append(insert_image(store, account_id, "ramdisk", name, created, path=place(eri, ramdisk),
                                    public=public, image_id=eri, location=f"{name}/{ramdisk.name}"))
            out.append(insert_image(store, account_id, "machine", name, created, kernel_id=eki, ramdisk_id=eri,
                                    disk_path=place(emi, disk) if disk else None, public=public, image_id=emi,
                                    location=f"{name}/{disk.name if disk else 'kernel+ramdisk'}",
                                    kernel_cmdline=cmdline))
    except BaseException:
        for d in copied:
            shutil.rmtree(d, ignore_errors=True)
        raise
    return out


def _launch_permissions(store: Store, image: dict[str, Any]) -> list[dict[str, str]]:
    perms = [{"Group": "all"}] if image["public"] else []
    perms += [{"UserId": r["account_id"]} for r in store.all(
        "select account_id from image_launch_permissions where image_id = ? order by account_id", [image["id"]])]
    return perms


def image_shape(image: dict[str, Any], tags: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ImageId": image["id"], "ImageLocation": image["location"], "State": image["state"],
        "OwnerId": image["account_id"], "CreationDate": image["created"], "Public": bool(image["public"]),
        "Architecture": image["architecture"] or "x86_64", "ImageType": image["kind"], "Name": image["name"],
        "RootDeviceType": "instance-store", "Hypervisor": "kvm",
        "VirtualizationType": "paravirtual" if image["kernel_id"] or image["kind"] != "machine" else "hvm",
        "Tags": tag_list(tags), "ProductCodes": [], "BlockDeviceMappings": [],
    }
    if image["description"]:
        out["Description"] = image["description"]
    if image["kernel_id"]:
        out["KernelId"] = image["kernel_id"]
    if image["ramdisk_id"]:
        out["RamdiskId"] = image["ramdisk_id"]
    return out


def _image_arns(ctx: CallContext, params: dict[str, Any]) -> list[str]:
    return [image_arn(ctx, params["ImageId"])] if params.get("ImageId") else [image_arn(ctx, "*")]


@operation("ec2", "RegisterImage", resources=lambda ctx, p: [image_arn(ctx, "*")])
def register_image(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    check_name_characters(params["Name"])
    check_part(ctx, params.get("KernelId"), "kernel")
    check_part(ctx, params.get("RamdiskId"), "ramdisk")
    tags = tag_specs(params, "image")
    location = params.get("ImageLocation") or params["Name"]
    arch = params.get("Architecture", "x86_64")
    row = insert_image(ctx.cloud.store, ctx.account_id, "machine", params["Name"], now(ctx),
                       kernel_id=params.get("KernelId"), ramdisk_id=params.get("RamdiskId"),
                       description=params.get("Description", ""), location=location, architecture=arch)
    if tags:
        with ctx.cloud.store.transaction() as db:
            put_tags(db, row["id"], "image", ctx.account_id, tags)
    return {"ImageId": row["id"]}


@operation("ec2", "DescribeImages")
def describe_images(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    store = ctx.cloud.store
    rows = visible(store, ctx.account_id)
    wanted = params.get("ImageIds")
    if wanted:
        have = {r["id"] for r in rows}
        for image_id in wanted:
            if image_id not in have:
                raise not_found(image_id)
        rows = [r for r in rows if r["id"] in wanted]
    owners = params.get("Owners")
    if owners:
        accounts = {ctx.account_id if o == "self" else o for o in owners}
        rows = [r for r in rows if r["account_id"] in accounts]
    executable = params.get("ExecutableUsers")
    if executable:
        shared = {r["image_id"] for r in store.all(
            "select image_id from image_launch_permissions where account_id = ?", [ctx.account_id])}

        def runs(r: dict[str, Any]) -> bool:
            for who in executable:
                if who == "all" and r["public"]:
                    return True
                if who == "self" and (r["account_id"] == ctx.account_id or r["id"] in shared or r["public"]):
                    return True
                if who not in ("all", "self") and r["account_id"] == ctx.account_id and store.one(
                        "select 1 from image_launch_permissions where image_id = ? and account_id = ?",
                        [r["id"], who]):
                    return True
            return False

        rows = [r for r in rows if runs(r)]
    # Tags are the owner's: other accounts see a shared image untagged.
    tags = tags_of(store, [r["id"] for r in rows if r["account_id"] == ctx.account_id])

    def tags_for(r: dict[str, Any]) -> dict[str, str]:
        return tags.get(r["id"], {})

    rows = apply_filters(rows, params.get("Filters"), {
        "image-id": lambda r: [r["id"]], "name": lambda r: [r["name"]], "state": lambda r: [r["state"]],
        "owner-id": lambda r: [r["account_id"]], "image-type": lambda r: [r["kind"]],
        "is-public": lambda r: ["true" if r["public"] else "false"], "kernel-id": lambda r: [r["kernel_id"] or ""],
        "ramdisk-id": lambda r: [r["ramdisk_id"] or ""], "architecture": lambda r: [r["architecture"] or ""],
        "description": lambda r: [r["description"] or ""], "manifest-location": lambda r: [r["location"] or ""],
        "root-device-type": lambda r: ["instance-store"],
    }, tags=tags_for)
    chunk, token = page(rows, params, "images")
    out: dict[str, Any] = {"Images": [image_shape(r, tags_for(r)) for r in chunk]}
    if token:
        out["NextToken"] = token
    return out


def _owned(ctx: CallContext, image_id: str) -> dict[str, Any]:
    row = find_visible(ctx.cloud.store, ctx.account_id, image_id)
    if row is None:
        raise not_found(image_id)
    if row["account_id"] != ctx.account_id:
        raise ServiceError("AuthFailure", f"Not authorized for image:{image_id}")
    return row


@operation("ec2", "DeregisterImage", resources=_image_arns)
def deregister_image(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    row = _owned(ctx, params["ImageId"])
    with ctx.cloud.store.transaction() as db:
        db.execute("delete from image_launch_permissions where image_id = ?", [row["id"]])
        db.execute("delete from tags where resource_id = ?", [row["id"]])
        db.execute("delete from images where id = ?", [row["id"]])
    return {"Return": True}


@operation("ec2", "DescribeImageAttribute", resources=_image_arns)
def describe_image_attribute(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    attr = params["Attribute"]
    image_id = params["ImageId"]
    row = find_visible(ctx.cloud.store, ctx.account_id, image_id)
    if row is None:
        raise not_found(image_id)
    out: dict[str, Any] = {"ImageId": image_id}
    if attr == "launchPermission":
        row = _owned(ctx, image_id)
        out["LaunchPermissions"] = _launch_permissions(ctx.cloud.store, row)
    elif attr == "description":
        out["Description"] = {"Value": row["description"]} if row["description"] else {}
    elif attr == "kernel":
        out["KernelId"] = {"Value": row["kernel_id"]} if row["kernel_id"] else {}
    elif attr == "ramdisk":
        out["RamdiskId"] = {"Value": row["ramdisk_id"]} if row["ramdisk_id"] else {}
    elif attr == "productCodes":
        out["ProductCodes"] = []
    elif attr == "blockDeviceMapping":
        out["BlockDeviceMappings"] = []
    else:
        raise ServiceError("InvalidParameterValue", f"Value ({attr}) for parameter attribute is invalid. "
                           "Unknown attribute.")
    return out


def _apply_launch_permission(ctx: CallContext, image: dict[str, Any], add: list[dict[str, Any]],
                             remove: list[dict[str, Any]]) -> None:
    with ctx.cloud.store.transaction() as db:
        for perm, adding in [(p, True) for p in add] + [(p, False) for p in remove]:
            group, user = perm.get("Group"), perm.get("UserId")
            if group is not None:
                if group != "all":
                    raise ServiceError("InvalidParameterValue", f"Value ({group}) for parameter group is invalid.")
                db.table("images").update(image["id"], {"public": int(adding)})
            elif user:
                if not (user.isdigit() and len(user) == 12):
                    raise ServiceError("InvalidAMIAttributeItemValue",
                                       f"Invalid attribute item value \"{user}\" for userId item type.")
                if adding:
                    db.table("image_launch_permissions").upsert({"image_id": image["id"], "account_id": user},
                                                          pk=("image_id", "account_id"))
                else:
                    db.execute("delete from image_launch_permissions where image_id = ? and account_id = ?",
                               [image["id"], user])


@operation("ec2", "ModifyImageAttribute", resources=_image_arns)
def modify_image_attribute(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    image = _owned(ctx, params["ImageId"])
    if "Description" in params:
        with ctx.cloud.store.transaction() as db:
            db.table("images").update(image["id"], {"description": params["Description"].get("Value", "")})
        return {}
    attr = params.get("Attribute")
    if attr == "description":
        with ctx.cloud.store.transaction() as db:
            db.table("images").update(image["id"], {"description": params.get("Value", "")})
        return {}
    lp = params.get("LaunchPermission")
    if lp is not None:
        _apply_launch_permission(ctx, image, lp.get("Add") or [], lp.get("Remove") or [])
        return {}
    if attr in (None, "launchPermission") and (params.get("UserIds") or params.get("UserGroups")):
        perms = [{"UserId": u} for u in params.get("UserIds") or []] + \
                [{"Group": g} for g in params.get("UserGroups") or []]
        op = params.get("OperationType", "add")
        if op not in ("add", "remove"):
            raise ServiceError("InvalidParameterValue", f"Value ({op}) for parameter operationType is invalid.")
        _apply_launch_permission(ctx, image, perms if op == "add" else [], perms if op == "remove" else [])
        return {}
    raise ServiceError("InvalidParameterCombination", "No attributes specified.")


@operation("ec2", "ResetImageAttribute", resources=_image_arns)
def reset_image_attribute(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    image = _owned(ctx, params["ImageId"])
    if params["Attribute"] != "launchPermission":
        raise ServiceError("InvalidParameterValue", f"Value ({params['Attribute']}) for parameter attribute is "
                           "invalid. Only launchPermission can be reset.")
    with ctx.cloud.store.transaction() as db:
        db.execute("delete from image_launch_permissions where image_id = ?", [image["id"]])
        db.table("images").update(image["id"], {"public": 0})
    return {}



#!/bin/sh
# eucalite tiny guest: PID 1 of a busybox initramfs.
# Proves the instance-profile path end to end: IMDSv2 token -> role credentials -> SigV4-signed EC2
# calls to the cloud's API, printed on the serial console, repeated so credential rotation shows.
# Kernel cmdline knobs: eucalite.interval=SECONDS (default 10), eucalite.api=HOST:PORT.

MD=169.254.169.254
API=169.254.169.253:8773

say() { echo "$*" > /dev/console; }
arg() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" /proc/cmdline; }

mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mkdir -p /tmp
say "EUCALITE-TINY-BOOT uptime=$(cut -d' ' -f1 /proc/uptime)"

# Busybox insmod ignores dependencies: /mods is numbered in the order kmod's modprobe computed.
for m in /mods/*.ko; do [ -e "$m" ] && { insmod "$m" 2>/dev/null || say "insmod failed: $m"; }; done

INTERVAL=$(arg eucalite.interval); INTERVAL=${INTERVAL:-10}
A=$(arg eucalite.api); [ -n "$A" ] && API=$A
API_HOST=${API%:*}; API_PORT=${API#*:}

ip link set lo up
i=0; while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
ip link set eth0 up
# udhcpc only reports the lease; its script applies it (busybox ships no default script).
cat > /tmp/udhcpc.sh <<'S'
#!/bin/sh
[ "$1" = bound ] || [ "$1" = renew ] || exit 0
ip addr flush dev "$interface"
ip addr add "$ip/${mask:-24}" dev "$interface"
[ -n "$router" ] && ip route add default via "${router%% *}" dev "$interface"
exit 0
S
chmod +x /tmp/udhcpc.sh
until udhcpc -i eth0 -q -n -t 5 -T 1 -A 1 -s /tmp/udhcpc.sh >/dev/null 2>&1; do
  say "EUCALITE-NET dhcp failed, retrying"; sleep 1
done
say "EUCALITE-NET $(ip -4 addr show eth0 | awk '/inet /{print $2}') uptime=$(cut -d' ' -f1 /proc/uptime)"

# http METHOD HOST PORT PATH BODY [HEADER...] -> body on stdout, status code in /tmp/status.
# Raw HTTP/1.0 over nc: busybox wget cannot PUT and throws away the body of error responses,
# and EC2 puts the error code in that body.
http() {
  method=$1 host=$2 port=$3 path=$4 body=$5; shift 5
  {
    printf '%s %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n' "$method" "$path" "$host:$port"
    for h in "$@"; do printf '%s\r\n' "$h"; done
    printf 'Content-Length: %s\r\n\r\n%s' "${#body}" "$body"
  } | timeout 15 nc "$host" "$port" > /tmp/resp 2>/dev/null
  sed -n '1s/^HTTP\/[0-9.]* \([0-9]*\).*/\1/p' /tmp/resp > /tmp/status
  sed '1,/^\r*$/d' /tmp/resp
}
status() { cat /tmp/status 2>/dev/null; }

# The token lives in a file: md runs inside $(...) subshells, where a variable would not persist.
new_token() {
  http PUT $MD 80 /latest/api/token "" "X-aws-ec2-metadata-token-ttl-seconds: 21600" > /tmp/token
  [ "$(status)" = 200 ] || { say "EUCALITE-IMDS token request failed status=$(status)"; : > /tmp/token; }
}
md() {  # md PATH: IMDSv2 GET; a 401 means the token expired, so take a new one and retry once
  [ -s /tmp/token ] || new_token
  out=$(http GET $MD 80 "/latest/$1" "" "X-aws-ec2-metadata-token: $(cat /tmp/token)")
  if [ "$(status)" = 401 ]; then
    new_token
    out=$(http GET $MD 80 "/latest/$1" "" "X-aws-ec2-metadata-token: $(cat /tmp/token)")
  fi
  [ "$(status)" = 200 ] || return 1
  printf '%s' "$out"
}
json() { tr -d '\r\n' | grep -o "\"$1\"[[:space:]]*:[[:space:]]*\"[^\"]*\"" | sed 's/.*"\([^"]*\)"$/\1/'; }
mask() { printf '%s****' "$(printf '%s' "$1" | cut -c1-"$2")"; }

# SigV4 HMAC chain. The first key is a string ("AWS4"+secret), the rest are hex digests.
hmac_str() { printf '%s' "$2" | openssl dgst -sha256 -mac HMAC -macopt "key:$1" | awk '{print $NF}'; }
hmac_hex() { printf '%s' "$2" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$1" | awk '{print $NF}'; }
sha256() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

ec2() {  # ec2 BODY: signed POST to the cloud's EC2 endpoint, response body on stdout
  body=$1
  amzdate=$(date -u +%Y%m%dT%H%M%SZ); day=${amzdate%%T*}
  scope="$day/$REGION/ec2/aws4_request"
  ctype="application/x-www-form-urlencoded; charset=utf-8"
  signed="content-type;host;x-amz-date;x-amz-security-token"
  creq="POST
/

content-type:$ctype
host:$API_HOST:$API_PORT
x-amz-date:$amzdate
x-amz-security-token:$SESSION

$signed
$(sha256 "$body")"
  sts="AWS4-HMAC-SHA256
$amzdate
$scope
$(sha256 "$creq")"
  k=$(hmac_str "AWS4$SECRET" "$day"); k=$(hmac_hex "$k" "$REGION"); k=$(hmac_hex "$k" ec2)
  k=$(hmac_hex "$k" aws4_request); sig=$(hmac_hex "$k" "$sts")
  http POST "$API_HOST" "$API_PORT" / "$body" "Content-Type: $ctype" "X-Amz-Date: $amzdate" \
    "X-Amz-Security-Token: $SESSION" \
    "Authorization: AWS4-HMAC-SHA256 Credential=$AKID/$scope, SignedHeaders=$signed, Signature=$sig"
}
xml_all() { grep -o "<$1>[^<]*</$1>" | sed "s/<[^>]*>//g" | tr '\n' ' ' | sed 's/ $//'; }

IID=$(md meta-data/instance-id); AMI=$(md meta-data/ami-id)
REGION=$(md meta-data/placement/region)
[ -n "$REGION" ] || REGION=$(md meta-data/placement/availability-zone | sed 's/[a-z]$//')
say "EUCALITE-IMDS instance-id=$IID ami-id=$AMI region=$REGION"

round=0
while :; do
  round=$((round+1))
  ROLE=$(md meta-data/iam/security-credentials/ | head -n1)
  if [ -z "$ROLE" ]; then
    say "EUCALITE-CREDS none (no instance profile) round=$round"
  else
    doc=$(md "meta-data/iam/security-credentials/$ROLE")
    AKID=$(printf '%s' "$doc" | json AccessKeyId); SECRET=$(printf '%s' "$doc" | json SecretAccessKey)
    SESSION=$(printf '%s' "$doc" | json Token); EXP=$(printf '%s' "$doc" | json Expiration)
    say "EUCALITE-CREDS role=$ROLE key=$(mask "$AKID" 16) secret=$(mask "$SECRET" 4) token=$(mask "$SESSION" 4) expires=$EXP round=$round"
    resp=$(ec2 "Action=DescribeAvailabilityZones&Version=2016-11-15")
    if [ "$(status)" = 200 ]; then
      say "EUCALITE-DAZ zones=$(printf '%s' "$resp" | xml_all zoneName)"
    else
      say "EUCALITE-DAZ error=$(printf '%s' "$resp" | xml_all Code) status=$(status)"
    fi
    resp=$(ec2 "Action=RunInstances&ImageId=$AMI&MinCount=1&MaxCount=1&Version=2016-11-15")
    if [ "$(status)" = 200 ]; then
      say "EUCALITE-RUN ok instances=$(printf '%s' "$resp" | xml_all instanceId)"
    else
      say "EUCALITE-RUN error=$(printf '%s' "$resp" | xml_all Code) status=$(status)"
    fi
  fi
  sleep "$INTERVAL"
done

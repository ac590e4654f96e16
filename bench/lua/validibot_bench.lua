-- The "OpenResty way" of doing what ngx_http_validibot_module does, for
-- bench/run.sh only: the same one-round-trip script (EVALSHA, EVAL on
-- NOSCRIPT), the same HMAC-SHA256 digest and constant-time compare, the
-- same revocation/expiry/user/org/membership/role checks, the same
-- identity headers.  Written as a careful user would: a pooled Redis
-- connection (set_keepalive), precompiled regexes, HMAC pads computed
-- once per worker.
--
-- Libraries, all Debian bookworm packages: nginx.redis (lua-nginx-redis,
-- Debian's lua-resty-redis), nginx.sha256 and nginx.string (lua-nginx-string,
-- Debian's lua-resty-string: FFI to libcrypto's SHA256_* and nginx's hex
-- dump).  Neither ngx_lua nor lua-resty-string has HMAC-SHA256 (ngx has
-- hmac_sha1 only), so HMAC is the RFC 2104 construction over
-- nginx.sha256; the compare is CRYPTO_memcmp through the FFI.

local redis = require "nginx.redis"
local sha256 = require "nginx.sha256"
local str = require "nginx.string"
local ffi = require "ffi"
local bit = require "bit"

pcall(ffi.cdef, "int CRYPTO_memcmp(const void *a, const void *b, size_t n);")

local C = ffi.C
local ngx = ngx
local re_match = ngx.re.match
local byte, char, concat = string.byte, string.char, table.concat

local _M = {}

local conf = {}
local cache
local ipad, opad, hctx
local script, script_sha

-- role codes that grant each permission (docs/directives.md)
local grants = {
    workflow_view = { owner = true, admin = true, author = true,
                      executor = true, workflow_viewer = true,
                      validation_results_viewer = true },
}


local function read_file(path)
    local f = assert(io.open(path, "rb"))
    local s = f:read("*a")
    f:close()
    return s
end


-- conf: redis_host, redis_port, pool_size, timeout, prefix,
-- digest_key_file, script_file, realm
function _M.init(c)
    conf = c

    if c.cache_ttl then
        cache = assert(require("resty.lrucache").new(c.cache_size or 20000))
    end

    local key = read_file(c.digest_key_file):gsub("\r?\n$", "")
    if #key > 64 then
        local h = sha256:new()
        h:update(key)
        key = h:final()
    end
    key = key .. string.rep("\0", 64 - #key)

    local ip, op = {}, {}
    for i = 1, 64 do
        ip[i] = char(bit.bxor(byte(key, i), 0x36))
        op[i] = char(bit.bxor(byte(key, i), 0x5c))
    end
    ipad, opad = concat(ip), concat(op)

    script = read_file(c.script_file)
    script_sha = str.to_hex(ngx.sha1_bin(script))
end


local function hmac_hex(msg)
    if not hctx then
        hctx = sha256:new()
    end

    hctx:reset()
    hctx:update(ipad)
    hctx:update(msg)
    local inner = hctx:final()

    hctx:reset()
    hctx:update(opad)
    hctx:update(inner)

    return str.to_hex(hctx:final())
end


local function refuse(status, err)
    local challenge = 'Bearer realm="' .. conf.realm .. '"'
    local body

    if status == 401 then
        if err then
            challenge = challenge .. ', error="invalid_token"'
            body = '{"detail":"Invalid API key","code":"authentication_failed"}'
        else
            body = '{"detail":"Authentication required",'
                   .. '"code":"not_authenticated"}'
        end

    elseif status == 403 then
        challenge = challenge .. ', error="insufficient_scope"'
        body = '{"detail":"Permission denied","code":"permission_denied"}'

    else
        challenge = nil
        body = '{"detail":"Authentication service unavailable",'
               .. '"code":"service_unavailable"}'
        ngx.header["Retry-After"] = "1"
    end

    ngx.header["WWW-Authenticate"] = challenge
    ngx.header["Content-Type"] = "application/json"
    ngx.status = status
    ngx.say(body)
    return ngx.exit(status)
end


local function empty(v)
    return v == ngx.null or v == "" or v == "0"
end


-- Returns status, identity (a table) or nil; does the whole check.
-- org: the route's org slug or nil; need: a permission code or nil.
function _M.verify(org, need)
    local auth = ngx.var.http_authorization
    if not auth then
        return 401, nil, false
    end

    local m = re_match(auth,
        [[^[Bb][Ee][Aa][Rr][Ee][Rr] +vbk_1_([a-f0-9]{32})_([a-f0-9]{64})$]],
        "jo")
    if not m then
        return 401, nil, true
    end

    local pid, secret = m[1], m[2]

    local red = redis:new()
    red:set_timeout(conf.timeout)

    local ok, err = red:connect(conf.redis_host, conf.redis_port)
    if not ok then
        ngx.log(ngx.ERR, "bench lua: redis connect: ", err)
        return 503
    end

    if red:get_reused_times() == 0 then
        -- a name for CLIENT LIST, as the module does
        red:client("setname", "validibot-lua")
    end

    local key = conf.prefix .. "key:" .. pid
    local res
    res, err = red:evalsha(script_sha, 1, key, conf.prefix, org or "", pid)
    if not res and err and err:find("^NOSCRIPT") then
        res, err = red:eval(script, 1, key, conf.prefix, org or "", pid)
    end

    if not res then
        ngx.log(ngx.ERR, "bench lua: redis: ", err)
        red:close()
        return 503
    end

    red:set_keepalive(conf.idle_timeout, conf.pool_size)

    local dv = res[3]
    if dv == nil or dv == ngx.null or dv == "" then
        dv = "1"
    end

    local computed = hmac_hex("validibot-api-key\0format=1\0digest=" .. dv
                              .. "\0public=" .. pid .. "\0secret=" .. secret)

    if #res == 0 then
        -- the same work as a hit, so timing does not tell which ids exist
        C.CRYPTO_memcmp(computed, string.rep("x", 64), 64)
        return 401, nil, true
    end

    if dv ~= "1" then
        return 401, nil, true       -- no digest key for that version
    end

    local stored = res[2]
    if stored == ngx.null or #stored ~= 64
       or C.CRYPTO_memcmp(computed, stored, 64) ~= 0
    then
        return 401, nil, true
    end

    if not empty(res[5]) then
        return 401, nil, true       -- revoked
    end

    local exp = res[4]
    if not empty(exp) then
        exp = tonumber(exp)
        if not exp or ngx.time() >= exp then
            return 401, nil, true   -- expired
        end
    end

    if res[8] ~= "1" then
        return 401, nil, true       -- user missing or inactive
    end

    local id = { user = res[1], key_id = pid }

    if not org then
        if need then
            return 403
        end
        return 200, id
    end

    if res[11] ~= "active" or res[12] ~= "1" then
        return 403
    end

    local roles = res[13]
    if roles == ngx.null then
        roles = ""
    end

    if need then
        local g, granted = grants[need], false
        for r in roles:gmatch("[^,]+") do
            if g[r] then
                granted = true
                break
            end
        end
        if not granted then
            return 403
        end
    end

    id.org = org
    id.roles = roles

    return 200, id
end


-- the org named by the route (nil: none), checked, then the key: the
-- identity, or nil after the refusal was sent
local function check(org, need)
    if org == "" then
        org = nil
    elseif org and not re_match(org, [[^[A-Za-z0-9_-]{1,128}$]], "jo") then
        refuse(403)
        return nil
    end

    local status, id, err = _M.verify(org, need)
    if status ~= 200 then
        refuse(status, err)
        return nil
    end

    return id
end


-- access_by_lua: check, then pass the identity on instead of the key.
-- With cache_ttl (lua-cache-hot), what an OpenResty user would do for
-- speed: successes kept in a per-worker lrucache for that many seconds,
-- keyed by the whole credential, the org and the permission; a revoked
-- key then keeps working until its entry expires.
function _M.access(need)
    local id, ck

    if cache then
        ck = (ngx.var.http_authorization or "") .. "\0"
             .. (ngx.var.org or "") .. "\0" .. (need or "")
        id = cache:get(ck)
    end

    if not id then
        id = check(ngx.var.org, need)
        if not id then
            return
        end

        if cache then
            cache:set(ck, id, conf.cache_ttl)
        end
    end

    local set = ngx.req.set_header
    set("X-Validibot-User", id.user)
    set("X-Validibot-Key-Id", id.key_id)
    set("X-Validibot-Org", id.org)
    set("X-Validibot-Roles", id.roles)
    ngx.req.clear_header("Authorization")
end


-- content_by_lua of the auth service behind auth_request: 204 with the
-- identity in response headers, or 401/403 with the challenge
function _M.auth_service(need)
    local id = check(ngx.var.http_x_validibot_route_org, need)
    if not id then
        return
    end

    ngx.header["X-Validibot-User"] = id.user
    ngx.header["X-Validibot-Key-Id"] = id.key_id
    ngx.header["X-Validibot-Org"] = id.org
    ngx.header["X-Validibot-Roles"] = id.roles
    return ngx.exit(204)
end


return _M

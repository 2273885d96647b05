-- Runs Tern's Lua test scripts and checks what each prints against its expected output.
--
--   lua run.lua <directory> [name ...]
--
-- Each script <name>.lua in the directory runs in an environment whose print() collects
-- lines instead of writing them; the lines must equal <name>.expected exactly. One line is
-- printed per script ("lua-test: <name> ok (<n> lines)", or FAILED with the first line
-- that differs), then a summary; the exit status is 0 only when every script passed. The
-- same scripts and files are run on the host (unit.lua_on_host) and on Tern
-- (system.session.lua), so the expectations hold for both.

local dir = arg[1]
if not dir then
  io.stderr:write("usage: lua run.lua <directory> [name ...]\n")
  os.exit(2)
end

local names = { table.unpack(arg, 2) }
if #names == 0 then
  names = { "strings", "tables", "coroutines", "closures", "numbers", "files", "system",
            "errors" }
end

local function read_lines(path)
  local f, err = io.open(path, "r")
  if not f then return nil, err end
  local lines = {}
  for line in f:lines() do lines[#lines + 1] = line end
  f:close()
  return lines
end

-- Runs one script; returns the lines it printed, or nil and the error that stopped it.
-- The chunk is named after the file alone, so error positions read the same wherever the
-- scripts lie.
local function run_script(path, name)
  local out = {}
  local env = setmetatable({}, { __index = _G })
  env.print = function(...)
    local parts = table.pack(...)
    for i = 1, parts.n do parts[i] = tostring(parts[i]) end
    local text = table.concat(parts, "\t", 1, parts.n)
    -- A printed value may hold several lines.
    for line in (text .. "\n"):gmatch("(.-)\n") do out[#out + 1] = line end
  end
  local file, err = io.open(path, "r")
  if not file then return nil, err end
  local source = file:read("a")
  file:close()
  local chunk
  chunk, err = load(source, "=" .. name .. ".lua", "t", env)
  if not chunk then return nil, err end
  local ok, failure = pcall(chunk)
  if not ok then return nil, tostring(failure) end
  return out
end

local failures = 0
for _, name in ipairs(names) do
  local expected, err = read_lines(dir .. "/" .. name .. ".expected")
  local got
  if expected then got, err = run_script(dir .. "/" .. name .. ".lua", name) end
  local problem = nil
  if not got then
    problem = err
  else
    for i = 1, math.max(#expected, #got) do
      if expected[i] ~= got[i] then
        problem = string.format("line %d: expected %q, got %q", i,
                                expected[i] or "<end>", got[i] or "<end>")
        break
      end
    end
  end
  if problem then
    failures = failures + 1
    print(string.format("lua-test: %s FAILED: %s", name, problem))
  else
    print(string.format("lua-test: %s ok (%d lines)", name, #got))
  end
end
print(string.format("lua-test: %d scripts, %d failures", #names, failures))
os.exit(failures == 0 and 0 or 1)

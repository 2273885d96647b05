-- The io library on the file system under /tmp (tmpfs on Tern): write a file, read it
-- back whole, by lines, by numbers and by counts, seek, append, update mode, buffering,
-- io.lines, io.input/io.output, and the errors for missing files.
local path = os.tmpname()
print(path:sub(1, 5) == "/tmp/", io.type(io.stdout), io.type(42))

local f = assert(io.open(path, "w"))
print(io.type(f))
print(f:write("first line\n", "second line\n", 42, " ", 3.5, "\n") == f)
for i = 1, 5 do f:write(string.format("row %d %d\n", i, i * i)) end
f:close()
print(io.type(f), pcall(f.write, f, "x"))

f = assert(io.open(path, "r"))
local all = f:read("a")
print(#all, select(2, all:gsub("\n", "")))
print(f:read("a") == "", f:read("l"), f:read(0))
print(f:seek("set", 0), f:read("l"), f:read("L"), f:read("n", "n"))
print(f:seek("cur"), f:seek("end"), f:seek("set", 6), f:read(4), f:seek("cur", -4), f:read(10))
f:close()

local n = 0
for line in io.lines(path) do n = n + 1 end
print("lines", n)
local squares = {}
for word, a, b in io.lines(path, 3, "n", "n") do
  if word == "row" then squares[#squares + 1] = a .. "^2=" .. b end
end
print(table.concat(squares, " "))

f = assert(io.open(path, "a"))
f:write("appended\n")
f:close()
f = assert(io.open(path, "r+"))
f:write("FIRST")
f:seek("set", 0)
print(f:read("l"))
print(f:seek("end", -9), f:read("l"))
f:close()

-- A bigger file: 20000 numbered lines through a fully buffered handle.
f = assert(io.open(path, "w"))
print(f:setvbuf("full", 8192))
for i = 1, 20000 do f:write(i, "\n") end
print(f:seek("cur"))
f:close()
local count, total = 0, 0
for line in io.lines(path) do count = count + 1; total = total + tonumber(line) end
print(count, total)

io.output(path)
io.write("through io.output\n")
io.close()
io.output(io.stdout)
io.input(path)
print(io.read("l"), io.read("l"))
io.close(io.input())
io.input(io.stdin)

local renamed = path .. ".renamed"
print(os.rename(path, renamed))
print(io.open(path) == nil, io.open(renamed) ~= nil)
print(os.remove(renamed))
local missing, message, code = io.open(renamed)
print(missing, message == renamed .. ": No such file or directory", code)
print(select(3, os.remove(renamed)), (pcall(io.lines, renamed)))

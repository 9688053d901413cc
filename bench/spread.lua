-- wrk script of bench/http.sh: GET the URL's path followed by a number from 1
-- to COUNT at random, a different sequence in each wrk thread, so that few
-- GETs of one key are ever in flight at once.
--   wrk ... -s bench/spread.lua URL -- COUNT
local threads = 0

function setup(thread)
	threads = threads + 1
	thread:set("id", threads)
end

function init(args)
	count = tonumber(args[1])
	math.randomseed(id)
end

function request()
	return wrk.format("GET", wrk.path .. math.random(count))
end

-- ngx.re with the "jo" options.
local bench = ...
local subj = "GET /index.html HTTP/1.1 host=example.com id=12345"
local split = require("ngx.re").split
bench("ngx.re.match (2 captures, jo)", function()
    return ngx.re.match(subj, [[id=(\d+)|(x)]], "jo")
end)
bench("ngx.re.find (jo)", function()
    return ngx.re.find(subj, [[host=\w+]], "jo")
end)
bench("ngx.re.gsub template (jo)", function()
    return ngx.re.gsub(subj, [[(\d)]], "<$1>", "jo")
end)
bench("ngx.re.sub literal (jo)", function()
    return ngx.re.sub(subj, "HTTP", "http", "jo")
end)
bench("ngx.re.split (jo)", function()
    return split(subj, " ", "jo")
end)

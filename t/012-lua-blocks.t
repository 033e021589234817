# Behaviour follows stream-lua v0.0.16 (see upstream t/132-lua-blocks.t,
# src/ngx_stream_lua_directive.c): *_by_lua_block bodies are raw Lua, so braces inside
# strings, comments and long brackets do not end the block, and nothing in the body is
# processed by nginx (no variables, no escapes, no ';' or '#' handling).

use Test::Nginx::Socket::Lua::Stream;

repeat_each(1);

plan tests => blocks() * 2 * repeat_each();

run_tests();

__DATA__

=== TEST 1: nested table constructors
--- stream_server_config
    content_by_lua_block {
        local zoo = {
            cats = {"tom", "felix"},
            dogs = {rex = {age = 3}, fido = {age = 5}},
        }
        ngx.say(zoo.cats[2], " ", zoo.dogs.rex.age + zoo.dogs.fido.age)
    }
--- stream_response
felix 8
--- no_error_log
[error]



=== TEST 2: braces inside quoted strings
--- stream_server_config
    content_by_lua_block {
        ngx.say("closing } first")
        ngx.say('opening { first')
        ngx.say("}}}{{{")
    }
--- stream_response
closing } first
opening { first
}}}{{{
--- no_error_log
[error]



=== TEST 3: escaped quotes next to braces
--- stream_server_config
    content_by_lua_block {
        ngx.say("quote \"} still inside")
        ngx.say('apostrophe \'{ still inside')
        ngx.say("backslash at the end \\")
        ngx.say('}')
    }
--- stream_response
quote "} still inside
apostrophe '{ still inside
backslash at the end \
}
--- no_error_log
[error]



=== TEST 4: braces inside long strings of several levels
--- stream_server_config
    content_by_lua_block {
        ngx.say([[level 0: } {]])
        ngx.say([=[level 1: ]] }]=])
        ngx.say([==[level 2: ]=] ]] {]==])
    }
--- stream_response
level 0: } {
level 1: ]] }
level 2: ]=] ]] {
--- no_error_log
[error]



=== TEST 5: braces and quotes inside long comments
--- stream_server_config
    content_by_lua_block {
        --[[
            } unbalanced { "quote
        ]]
        --[===[
            ]] ]==] } it's "still" a comment {
        ]===]
        ngx.say("comments skipped")
    }
--- stream_response
comments skipped
--- no_error_log
[error]



=== TEST 6: braces and quotes inside line comments
--- stream_server_config
    content_by_lua_block {
        -- a closing brace } here
        -- it's an apostrophe, not a string
        -- "an unterminated double quote
        ngx.say("line comments skipped") -- } trailing {
    }
--- stream_response
line comments skipped
--- no_error_log
[error]



=== TEST 7: everything on one line
--- stream_server_config
    content_by_lua_block {ngx.say("compact", {" block"})}
--- stream_response
compact block
--- no_error_log
[error]



=== TEST 8: the line of the opening brace is line 1
--- stream_server_config
    content_by_lua_block {
        ngx.say("this is line ", debug.getinfo(1).currentline)

        ngx.say("and this is line ", debug.getinfo(1).currentline)
    }
--- stream_response
this is line 2
and this is line 4
--- no_error_log
[error]



=== TEST 9: opening brace on its own line
--- stream_server_config
    content_by_lua_block
    {
        ngx.say("line ", debug.getinfo(1).currentline)
    }
--- stream_response
line 2
--- no_error_log
[error]



=== TEST 10: semicolons and hash signs are Lua, not nginx syntax
--- stream_server_config
    content_by_lua_block {
        local list = {10, 20, 30}; local n = #list;
        ngx.say("length ", n, "; # kept");
    }
--- stream_response
length 3; # kept
--- no_error_log
[error]



=== TEST 11: dollar signs and backslash escapes reach Lua untouched
--- stream_server_config
    content_by_lua_block {
        ngx.say("$remote_addr stays literal")
        ngx.say("\65\66\67 and tab:[\t]")
        ngx.say('single \'quoted\' \\ slash')
    }
--- stream_response eval
"\$remote_addr stays literal\nABC and tab:[\t]\nsingle 'quoted' \\ slash\n"
--- no_error_log
[error]



=== TEST 12: closing long brackets of another level inside a long string
--- stream_server_config
    content_by_lua_block {
        local s = [==[
first ]] second ]=] third
]==]
        ngx.print(s)
    }
--- stream_response
first ]] second ]=] third
--- no_error_log
[error]



=== TEST 13: double dashes inside long strings are not comments
--- stream_server_config
    content_by_lua_block {
        ngx.say([[ok--]])
        ngx.say([==[ok-- ]==])
        --[[ --]] ngx.say("after an inline long comment")
    }
--- stream_response
ok--
ok-- 
after an inline long comment
--- no_error_log
[error]



=== TEST 14: a table indexed by a table value
--- stream_server_config
    content_by_lua_block {
        local words, idx = {"zero", "one"}, {2}
        ngx.say(words[idx[1]])
    }
--- stream_response
one
--- no_error_log
[error]



=== TEST 15: a block longer than nginx's configuration read buffer
--- timeout: 10
--- stream_server_config
    content_by_lua_block {
        ngx.say("L001 } { \" ' x")
        ngx.say('L002 { } \' " y')
        ngx.say([[L003 }}} {{{ "z"]])
        --[==[ L004 } ]] { ]==] ngx.say("L004 comment skipped")
        ngx.say([=[L005 ]] }]=])
        -- L006 line comment with } and { and ' and "
        ngx.say("L006 after comment")
        ngx.say("L007 } { \" ' x")
        ngx.say('L008 { } \' " y')
        ngx.say([[L009 }}} {{{ "z"]])
        --[==[ L010 } ]] { ]==] ngx.say("L010 comment skipped")
        ngx.say([=[L011 ]] }]=])
        -- L012 line comment with } and { and ' and "
        ngx.say("L012 after comment")
        ngx.say("L013 } { \" ' x")
        ngx.say('L014 { } \' " y')
        ngx.say([[L015 }}} {{{ "z"]])
        --[==[ L016 } ]] { ]==] ngx.say("L016 comment skipped")
        ngx.say([=[L017 ]] }]=])
        -- L018 line comment with } and { and ' and "
        ngx.say("L018 after comment")
        ngx.say("L019 } { \" ' x")
        ngx.say('L020 { } \' " y')
        ngx.say([[L021 }}} {{{ "z"]])
        --[==[ L022 } ]] { ]==] ngx.say("L022 comment skipped")
        ngx.say([=[L023 ]] }]=])
        -- L024 line comment with } and { and ' and "
        ngx.say("L024 after comment")
        ngx.say("L025 } { \" ' x")
        ngx.say('L026 { } \' " y')
        ngx.say([[L027 }}} {{{ "z"]])
        --[==[ L028 } ]] { ]==] ngx.say("L028 comment skipped")
        ngx.say([=[L029 ]] }]=])
        -- L030 line comment with } and { and ' and "
        ngx.say("L030 after comment")
        ngx.say("L031 } { \" ' x")
        ngx.say('L032 { } \' " y')
        ngx.say([[L033 }}} {{{ "z"]])
        --[==[ L034 } ]] { ]==] ngx.say("L034 comment skipped")
        ngx.say([=[L035 ]] }]=])
        -- L036 line comment with } and { and ' and "
        ngx.say("L036 after comment")
        ngx.say("L037 } { \" ' x")
        ngx.say('L038 { } \' " y')
        ngx.say([[L039 }}} {{{ "z"]])
        --[==[ L040 } ]] { ]==] ngx.say("L040 comment skipped")
        ngx.say([=[L041 ]] }]=])
        -- L042 line comment with } and { and ' and "
        ngx.say("L042 after comment")
        ngx.say("L043 } { \" ' x")
        ngx.say('L044 { } \' " y')
        ngx.say([[L045 }}} {{{ "z"]])
        --[==[ L046 } ]] { ]==] ngx.say("L046 comment skipped")
        ngx.say([=[L047 ]] }]=])
        -- L048 line comment with } and { and ' and "
        ngx.say("L048 after comment")
        ngx.say("L049 } { \" ' x")
        ngx.say('L050 { } \' " y')
        ngx.say([[L051 }}} {{{ "z"]])
        --[==[ L052 } ]] { ]==] ngx.say("L052 comment skipped")
        ngx.say([=[L053 ]] }]=])
        -- L054 line comment with } and { and ' and "
        ngx.say("L054 after comment")
        ngx.say("L055 } { \" ' x")
        ngx.say('L056 { } \' " y')
        ngx.say([[L057 }}} {{{ "z"]])
        --[==[ L058 } ]] { ]==] ngx.say("L058 comment skipped")
        ngx.say([=[L059 ]] }]=])
        -- L060 line comment with } and { and ' and "
        ngx.say("L060 after comment")
        ngx.say("L061 } { \" ' x")
        ngx.say('L062 { } \' " y')
        ngx.say([[L063 }}} {{{ "z"]])
        --[==[ L064 } ]] { ]==] ngx.say("L064 comment skipped")
        ngx.say([=[L065 ]] }]=])
        -- L066 line comment with } and { and ' and "
        ngx.say("L066 after comment")
        ngx.say("L067 } { \" ' x")
        ngx.say('L068 { } \' " y')
        ngx.say([[L069 }}} {{{ "z"]])
        --[==[ L070 } ]] { ]==] ngx.say("L070 comment skipped")
        ngx.say([=[L071 ]] }]=])
        -- L072 line comment with } and { and ' and "
        ngx.say("L072 after comment")
        ngx.say("L073 } { \" ' x")
        ngx.say('L074 { } \' " y')
        ngx.say([[L075 }}} {{{ "z"]])
        --[==[ L076 } ]] { ]==] ngx.say("L076 comment skipped")
        ngx.say([=[L077 ]] }]=])
        -- L078 line comment with } and { and ' and "
        ngx.say("L078 after comment")
        ngx.say("L079 } { \" ' x")
        ngx.say('L080 { } \' " y')
        ngx.say([[L081 }}} {{{ "z"]])
        --[==[ L082 } ]] { ]==] ngx.say("L082 comment skipped")
        ngx.say([=[L083 ]] }]=])
        -- L084 line comment with } and { and ' and "
        ngx.say("L084 after comment")
        ngx.say("L085 } { \" ' x")
        ngx.say('L086 { } \' " y')
        ngx.say([[L087 }}} {{{ "z"]])
        --[==[ L088 } ]] { ]==] ngx.say("L088 comment skipped")
        ngx.say([=[L089 ]] }]=])
        -- L090 line comment with } and { and ' and "
        ngx.say("L090 after comment")
        ngx.say("L091 } { \" ' x")
        ngx.say('L092 { } \' " y')
        ngx.say([[L093 }}} {{{ "z"]])
        --[==[ L094 } ]] { ]==] ngx.say("L094 comment skipped")
        ngx.say([=[L095 ]] }]=])
        -- L096 line comment with } and { and ' and "
        ngx.say("L096 after comment")
        ngx.say("L097 } { \" ' x")
        ngx.say('L098 { } \' " y')
        ngx.say([[L099 }}} {{{ "z"]])
        --[==[ L100 } ]] { ]==] ngx.say("L100 comment skipped")
        ngx.say([=[L101 ]] }]=])
        -- L102 line comment with } and { and ' and "
        ngx.say("L102 after comment")
        ngx.say("L103 } { \" ' x")
        ngx.say('L104 { } \' " y')
        ngx.say([[L105 }}} {{{ "z"]])
        --[==[ L106 } ]] { ]==] ngx.say("L106 comment skipped")
        ngx.say([=[L107 ]] }]=])
        -- L108 line comment with } and { and ' and "
        ngx.say("L108 after comment")
        ngx.say("L109 } { \" ' x")
        ngx.say('L110 { } \' " y')
        ngx.say([[L111 }}} {{{ "z"]])
        --[==[ L112 } ]] { ]==] ngx.say("L112 comment skipped")
        ngx.say([=[L113 ]] }]=])
        -- L114 line comment with } and { and ' and "
        ngx.say("L114 after comment")
        ngx.say("L115 } { \" ' x")
        ngx.say('L116 { } \' " y')
        ngx.say([[L117 }}} {{{ "z"]])
        --[==[ L118 } ]] { ]==] ngx.say("L118 comment skipped")
        ngx.say([=[L119 ]] }]=])
        -- L120 line comment with } and { and ' and "
        ngx.say("L120 after comment")
        ngx.say("L121 } { \" ' x")
        ngx.say('L122 { } \' " y')
        ngx.say([[L123 }}} {{{ "z"]])
        --[==[ L124 } ]] { ]==] ngx.say("L124 comment skipped")
        ngx.say([=[L125 ]] }]=])
        -- L126 line comment with } and { and ' and "
        ngx.say("L126 after comment")
        ngx.say("L127 } { \" ' x")
        ngx.say('L128 { } \' " y')
        ngx.say([[L129 }}} {{{ "z"]])
        --[==[ L130 } ]] { ]==] ngx.say("L130 comment skipped")
        ngx.say([=[L131 ]] }]=])
        -- L132 line comment with } and { and ' and "
        ngx.say("L132 after comment")
        ngx.say("L133 } { \" ' x")
        ngx.say('L134 { } \' " y')
        ngx.say([[L135 }}} {{{ "z"]])
        --[==[ L136 } ]] { ]==] ngx.say("L136 comment skipped")
        ngx.say([=[L137 ]] }]=])
        -- L138 line comment with } and { and ' and "
        ngx.say("L138 after comment")
        ngx.say("L139 } { \" ' x")
        ngx.say('L140 { } \' " y')
        ngx.say([[L141 }}} {{{ "z"]])
        --[==[ L142 } ]] { ]==] ngx.say("L142 comment skipped")
        ngx.say([=[L143 ]] }]=])
        -- L144 line comment with } and { and ' and "
        ngx.say("L144 after comment")
        ngx.say("L145 } { \" ' x")
        ngx.say('L146 { } \' " y')
        ngx.say([[L147 }}} {{{ "z"]])
        --[==[ L148 } ]] { ]==] ngx.say("L148 comment skipped")
        ngx.say([=[L149 ]] }]=])
        -- L150 line comment with } and { and ' and "
        ngx.say("L150 after comment")
        ngx.say("L151 } { \" ' x")
        ngx.say('L152 { } \' " y')
        ngx.say([[L153 }}} {{{ "z"]])
        --[==[ L154 } ]] { ]==] ngx.say("L154 comment skipped")
        ngx.say([=[L155 ]] }]=])
        -- L156 line comment with } and { and ' and "
        ngx.say("L156 after comment")
        ngx.say("L157 } { \" ' x")
        ngx.say('L158 { } \' " y')
        ngx.say([[L159 }}} {{{ "z"]])
        --[==[ L160 } ]] { ]==] ngx.say("L160 comment skipped")
        ngx.say([=[L161 ]] }]=])
        -- L162 line comment with } and { and ' and "
        ngx.say("L162 after comment")
        ngx.say("L163 } { \" ' x")
        ngx.say('L164 { } \' " y')
        ngx.say([[L165 }}} {{{ "z"]])
        --[==[ L166 } ]] { ]==] ngx.say("L166 comment skipped")
        ngx.say([=[L167 ]] }]=])
        -- L168 line comment with } and { and ' and "
        ngx.say("L168 after comment")
        ngx.say("L169 } { \" ' x")
        ngx.say('L170 { } \' " y')
        ngx.say([[L171 }}} {{{ "z"]])
        --[==[ L172 } ]] { ]==] ngx.say("L172 comment skipped")
        ngx.say([=[L173 ]] }]=])
        -- L174 line comment with } and { and ' and "
        ngx.say("L174 after comment")
        ngx.say("L175 } { \" ' x")
        ngx.say('L176 { } \' " y')
        ngx.say([[L177 }}} {{{ "z"]])
        --[==[ L178 } ]] { ]==] ngx.say("L178 comment skipped")
        ngx.say([=[L179 ]] }]=])
        -- L180 line comment with } and { and ' and "
        ngx.say("L180 after comment")
        ngx.say("L181 } { \" ' x")
        ngx.say('L182 { } \' " y')
        ngx.say([[L183 }}} {{{ "z"]])
        --[==[ L184 } ]] { ]==] ngx.say("L184 comment skipped")
        ngx.say([=[L185 ]] }]=])
        -- L186 line comment with } and { and ' and "
        ngx.say("L186 after comment")
        ngx.say("L187 } { \" ' x")
        ngx.say('L188 { } \' " y')
        ngx.say([[L189 }}} {{{ "z"]])
        --[==[ L190 } ]] { ]==] ngx.say("L190 comment skipped")
        ngx.say([=[L191 ]] }]=])
        -- L192 line comment with } and { and ' and "
        ngx.say("L192 after comment")
        ngx.say("L193 } { \" ' x")
        ngx.say('L194 { } \' " y')
        ngx.say([[L195 }}} {{{ "z"]])
        --[==[ L196 } ]] { ]==] ngx.say("L196 comment skipped")
        ngx.say([=[L197 ]] }]=])
        -- L198 line comment with } and { and ' and "
        ngx.say("L198 after comment")
        ngx.say("L199 } { \" ' x")
        ngx.say('L200 { } \' " y')
        ngx.say([[L201 }}} {{{ "z"]])
        --[==[ L202 } ]] { ]==] ngx.say("L202 comment skipped")
        ngx.say([=[L203 ]] }]=])
        -- L204 line comment with } and { and ' and "
        ngx.say("L204 after comment")
        ngx.say("L205 } { \" ' x")
        ngx.say('L206 { } \' " y')
        ngx.say([[L207 }}} {{{ "z"]])
        --[==[ L208 } ]] { ]==] ngx.say("L208 comment skipped")
        ngx.say([=[L209 ]] }]=])
        -- L210 line comment with } and { and ' and "
        ngx.say("L210 after comment")
        ngx.say("L211 } { \" ' x")
        ngx.say('L212 { } \' " y')
        ngx.say([[L213 }}} {{{ "z"]])
        --[==[ L214 } ]] { ]==] ngx.say("L214 comment skipped")
        ngx.say([=[L215 ]] }]=])
        -- L216 line comment with } and { and ' and "
        ngx.say("L216 after comment")
        ngx.say("L217 } { \" ' x")
        ngx.say('L218 { } \' " y')
        ngx.say([[L219 }}} {{{ "z"]])
        --[==[ L220 } ]] { ]==] ngx.say("L220 comment skipped")
        ngx.say([=[L221 ]] }]=])
        -- L222 line comment with } and { and ' and "
        ngx.say("L222 after comment")
        ngx.say("L223 } { \" ' x")
        ngx.say('L224 { } \' " y')
        ngx.say([[L225 }}} {{{ "z"]])
        --[==[ L226 } ]] { ]==] ngx.say("L226 comment skipped")
        ngx.say([=[L227 ]] }]=])
        -- L228 line comment with } and { and ' and "
        ngx.say("L228 after comment")
        ngx.say("L229 } { \" ' x")
        ngx.say('L230 { } \' " y')
        ngx.say([[L231 }}} {{{ "z"]])
        --[==[ L232 } ]] { ]==] ngx.say("L232 comment skipped")
        ngx.say([=[L233 ]] }]=])
        -- L234 line comment with } and { and ' and "
        ngx.say("L234 after comment")
        ngx.say("L235 } { \" ' x")
        ngx.say('L236 { } \' " y')
        ngx.say([[L237 }}} {{{ "z"]])
        --[==[ L238 } ]] { ]==] ngx.say("L238 comment skipped")
        ngx.say([=[L239 ]] }]=])
        -- L240 line comment with } and { and ' and "
        ngx.say("L240 after comment")
        ngx.say("L241 } { \" ' x")
        ngx.say('L242 { } \' " y')
        ngx.say([[L243 }}} {{{ "z"]])
    }
--- stream_response
L001 } { " ' x
L002 { } ' " y
L003 }}} {{{ "z"
L004 comment skipped
L005 ]] }
L006 after comment
L007 } { " ' x
L008 { } ' " y
L009 }}} {{{ "z"
L010 comment skipped
L011 ]] }
L012 after comment
L013 } { " ' x
L014 { } ' " y
L015 }}} {{{ "z"
L016 comment skipped
L017 ]] }
L018 after comment
L019 } { " ' x
L020 { } ' " y
L021 }}} {{{ "z"
L022 comment skipped
L023 ]] }
L024 after comment
L025 } { " ' x
L026 { } ' " y
L027 }}} {{{ "z"
L028 comment skipped
L029 ]] }
L030 after comment
L031 } { " ' x
L032 { } ' " y
L033 }}} {{{ "z"
L034 comment skipped
L035 ]] }
L036 after comment
L037 } { " ' x
L038 { } ' " y
L039 }}} {{{ "z"
L040 comment skipped
L041 ]] }
L042 after comment
L043 } { " ' x
L044 { } ' " y
L045 }}} {{{ "z"
L046 comment skipped
L047 ]] }
L048 after comment
L049 } { " ' x
L050 { } ' " y
L051 }}} {{{ "z"
L052 comment skipped
L053 ]] }
L054 after comment
L055 } { " ' x
L056 { } ' " y
L057 }}} {{{ "z"
L058 comment skipped
L059 ]] }
L060 after comment
L061 } { " ' x
L062 { } ' " y
L063 }}} {{{ "z"
L064 comment skipped
L065 ]] }
L066 after comment
L067 } { " ' x
L068 { } ' " y
L069 }}} {{{ "z"
L070 comment skipped
L071 ]] }
L072 after comment
L073 } { " ' x
L074 { } ' " y
L075 }}} {{{ "z"
L076 comment skipped
L077 ]] }
L078 after comment
L079 } { " ' x
L080 { } ' " y
L081 }}} {{{ "z"
L082 comment skipped
L083 ]] }
L084 after comment
L085 } { " ' x
L086 { } ' " y
L087 }}} {{{ "z"
L088 comment skipped
L089 ]] }
L090 after comment
L091 } { " ' x
L092 { } ' " y
L093 }}} {{{ "z"
L094 comment skipped
L095 ]] }
L096 after comment
L097 } { " ' x
L098 { } ' " y
L099 }}} {{{ "z"
L100 comment skipped
L101 ]] }
L102 after comment
L103 } { " ' x
L104 { } ' " y
L105 }}} {{{ "z"
L106 comment skipped
L107 ]] }
L108 after comment
L109 } { " ' x
L110 { } ' " y
L111 }}} {{{ "z"
L112 comment skipped
L113 ]] }
L114 after comment
L115 } { " ' x
L116 { } ' " y
L117 }}} {{{ "z"
L118 comment skipped
L119 ]] }
L120 after comment
L121 } { " ' x
L122 { } ' " y
L123 }}} {{{ "z"
L124 comment skipped
L125 ]] }
L126 after comment
L127 } { " ' x
L128 { } ' " y
L129 }}} {{{ "z"
L130 comment skipped
L131 ]] }
L132 after comment
L133 } { " ' x
L134 { } ' " y
L135 }}} {{{ "z"
L136 comment skipped
L137 ]] }
L138 after comment
L139 } { " ' x
L140 { } ' " y
L141 }}} {{{ "z"
L142 comment skipped
L143 ]] }
L144 after comment
L145 } { " ' x
L146 { } ' " y
L147 }}} {{{ "z"
L148 comment skipped
L149 ]] }
L150 after comment
L151 } { " ' x
L152 { } ' " y
L153 }}} {{{ "z"
L154 comment skipped
L155 ]] }
L156 after comment
L157 } { " ' x
L158 { } ' " y
L159 }}} {{{ "z"
L160 comment skipped
L161 ]] }
L162 after comment
L163 } { " ' x
L164 { } ' " y
L165 }}} {{{ "z"
L166 comment skipped
L167 ]] }
L168 after comment
L169 } { " ' x
L170 { } ' " y
L171 }}} {{{ "z"
L172 comment skipped
L173 ]] }
L174 after comment
L175 } { " ' x
L176 { } ' " y
L177 }}} {{{ "z"
L178 comment skipped
L179 ]] }
L180 after comment
L181 } { " ' x
L182 { } ' " y
L183 }}} {{{ "z"
L184 comment skipped
L185 ]] }
L186 after comment
L187 } { " ' x
L188 { } ' " y
L189 }}} {{{ "z"
L190 comment skipped
L191 ]] }
L192 after comment
L193 } { " ' x
L194 { } ' " y
L195 }}} {{{ "z"
L196 comment skipped
L197 ]] }
L198 after comment
L199 } { " ' x
L200 { } ' " y
L201 }}} {{{ "z"
L202 comment skipped
L203 ]] }
L204 after comment
L205 } { " ' x
L206 { } ' " y
L207 }}} {{{ "z"
L208 comment skipped
L209 ]] }
L210 after comment
L211 } { " ' x
L212 { } ' " y
L213 }}} {{{ "z"
L214 comment skipped
L215 ]] }
L216 after comment
L217 } { " ' x
L218 { } ' " y
L219 }}} {{{ "z"
L220 comment skipped
L221 ]] }
L222 after comment
L223 } { " ' x
L224 { } ' " y
L225 }}} {{{ "z"
L226 comment skipped
L227 ]] }
L228 after comment
L229 } { " ' x
L230 { } ' " y
L231 }}} {{{ "z"
L232 comment skipped
L233 ]] }
L234 after comment
L235 } { " ' x
L236 { } ' " y
L237 }}} {{{ "z"
L238 comment skipped
L239 ]] }
L240 after comment
L241 } { " ' x
L242 { } ' " y
L243 }}} {{{ "z"
--- no_error_log
[error]



=== TEST 16: missing closing long bracket in a string
--- stream_server_config
    content_by_lua_block {
        ngx.say([[never closed)
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*Lua code block missing the closing long bracket "\]\]" in .*nginx\.conf:\d+/



=== TEST 17: missing closing long bracket of level 2
--- stream_server_config
    content_by_lua_block {
        ngx.say([==[never closed ]] ]=])
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*Lua code block missing the closing long bracket "\]==\]" in .*nginx\.conf:\d+/



=== TEST 18: missing closing long bracket in a comment
--- stream_server_config
    content_by_lua_block {
        --[=[ a comment that never ends
        ngx.say("hidden")
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*Lua code block missing the closing long bracket "\]=\]" in .*nginx\.conf:\d+/



=== TEST 19: an extra opening brace swallows the rest of the file
The block then ends at the server's closing brace, and nginx trips over whatever block the
generated configuration puts after stream {} (or over the end of the file).
--- stream_server_config
    content_by_lua_block {
        local t = {
        ngx.say("no closing brace for the table")
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*(?:"(?:http|events)" directive is not allowed here|unexpected end of file)/



=== TEST 20: block with only a comment runs and writes nothing
--- stream_server_config
    content_by_lua_block {
        -- nothing to do }
    }
--- stream_response
--- no_error_log
[error]

-- flow_diagram(): the action tree as Mermaid or Graphviz DOT.
SELECT flowcontrol.define_flow($${"name": "order \"paid\"", "active": true, "condition": "object.total > 0",
	"actions": [
		{"action": "DelayAction", "config": {"seconds": 259200, "time": "09:00"}, "description": "wait 3 days"},
		{"action": "IfAction", "config": {"condition": "not object.shipped and object.note != \"a|b\" and 'x' in tags"},
		 "children": [{"action": "SendAlertAction", "config": {"subject": "Order #1 not shipped <ops>"}}]},
		{"action": "WhileLoopAction", "config": {"condition": "i < 3"}, "children": [
			{"action": "ForLoopAction", "config": {"var_name": "j", "start": 1, "end": 4, "step": 2}, "children": [
				{"action": "LeaveAction", "config": {"condition": "j == 3"}},
				{"action": "UpdateStateAction", "config": {"state": {"i": "i|add:1"}, "evaluate": true}}]},
			{"action": "BreakAction", "config": {"condition": "i > 10"}}]},
		{"action": "WaitForTriggerAction", "config": {"trigger": 1}},
		{"action": "IfAction", "config": {"condition": "done"}, "children": [{"action": "LeaveAction"}]},
		{"action": "AbortAction"}]}$$) AS f \gset
SELECT flowcontrol.flow_diagram(:f);
SELECT flowcontrol.flow_diagram(:f, 'dot');
-- an empty flow
SELECT flowcontrol.flow_diagram(flowcontrol.define_flow('{"name": "empty"}'), 'DOT');
-- invalid
SELECT try(format($$SELECT flowcontrol.flow_diagram(%s, 'svg')$$, :f));
SELECT try($$SELECT flowcontrol.flow_diagram(999999)$$);

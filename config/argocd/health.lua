-- Argo CD health check for SoftwareTokenEnrollment (kstatus semantics):
-- Stalled=True is Degraded, Ready=True for the current generation is Healthy,
-- anything else is Progressing.
hs = {}
if obj.status == nil or obj.status.conditions == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the controller"
  return hs
end
if obj.status.observedGeneration ~= obj.metadata.generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the controller to observe the latest spec"
  return hs
end
local function find(type)
  for _, c in ipairs(obj.status.conditions) do
    if c.type == type then
      return c
    end
  end
  return nil
end
local stalled, ready, reconciling = find("Stalled"), find("Ready"), find("Reconciling")
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = stalled.reason .. ": " .. stalled.message
elseif ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message
elseif reconciling ~= nil then
  hs.status = "Progressing"
  hs.message = reconciling.reason .. ": " .. reconciling.message
else
  hs.status = "Progressing"
  hs.message = "Waiting for the controller"
end
return hs

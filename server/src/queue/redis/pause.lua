-- Pauses the queue (`paused` '1': no claim hands out a job until it is resumed) or resumes it,
-- waking one idle instance, which wakes its workers. Returns 'ok'.
if paused == '1' then
  redis.call('SET', paused_key, '1')
else
  redis.call('DEL', paused_key)
  redis.call('RPUSH', wake_key, 'resumed')
  redis.call('LTRIM', wake_key, -1000, -1)
end
return 'ok'

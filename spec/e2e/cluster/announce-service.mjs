// A --require module for the cluster tests: the node a /service/announce call lands on
// publishes, as application code, `data` on the `channel` the caller names.
export default bayeux => {
  bayeux.listen('/service/announce', async message => {
    await bayeux.publish(message.data.channel, message.data.data)
    return { announced: message.data.channel }
  })
}

from demo.local_services import sam_env_vars
from demo.local_stack import LocalStack
from demo.template import load_template


def test_every_variable_in_the_env_file_is_declared_in_the_template() -> None:
    """SAM CLI only overrides variables the template declares; anything else would be silently dropped."""
    template = load_template()
    stack = LocalStack(
        stack_name="local",
        bucket="local-incomingbucket",
        synthetic_prefix="synthetic/",
        tables={"ItemsTable": "i", "ManifestTable": "m", "ReporterStateTable": "r"},
        queues={"PipelineFailureQueue": "q"},
        notifications_queue_url="n",
    )
    env = sam_env_vars(stack, "http://host.docker.internal:4566")
    shared = set(template["Globals"]["Function"]["Environment"]["Variables"])
    assert set(env["Parameters"]) <= shared
    for function, variables in env.items():
        if function == "Parameters":
            continue
        declared = shared | set(template["Resources"][function]["Properties"]["Environment"]["Variables"])
        assert set(variables) <= declared, function
    assert env["Parameters"]["AWS_ENDPOINT_URL"] == "http://host.docker.internal:4566"
    functions = {
        name
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }
    assert set(env) - {"Parameters"} == functions  # the twin's too

from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema


def test_it_generates_a_valid_openapi_3_schema(db):
    schema = SchemaGenerator().get_schema(request=None, public=True)
    validate_schema(schema)
    assert schema["openapi"].startswith("3.")
    assert {"/api/customers/", "/api/opportunities/{id}/move/", "/api/leads/{id}/convert/"} <= set(schema["paths"])


def test_it_serves_the_docs_page(client, db):
    assert client.get("/api/docs/").status_code == 200
    assert client.get("/api/schema/").status_code == 200
